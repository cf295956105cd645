"""HiveBox doctor: what is wrong with a HiveBox service, proved at the replay server, and how to fix it
(``hivepulse doctor``, docs/doctor.md)."""
