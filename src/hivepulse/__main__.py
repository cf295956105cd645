import sys

from hivepulse.cli import main

sys.exit(main())
