"""Inline styles JupyterLab keeps in untrusted HTML outputs (imported by tests; holds no tests).

JupyterLab sanitizes the HTML output of an untrusted notebook: ``<style>`` elements are dropped, and a ``style``
attribute keeps only the CSS properties its sanitizer allows. The names below are the ``allowedStyles`` of
JupyterLab 4.6.6 (``@jupyterlab/apputils``, read from the installed ``jlab_core`` bundle), limited to the
families the retro's fragments use.
"""

from __future__ import annotations

import re

ALLOWED = frozenset("""
background background-color border border-bottom border-collapse border-color border-left border-left-color
border-left-style border-left-width border-radius border-right border-spacing border-style border-top border-width
bottom box-shadow box-sizing color display float font font-family font-size font-style font-weight height left
letter-spacing line-height list-style margin margin-bottom margin-left margin-right margin-top max-height max-width
min-height min-width opacity overflow padding padding-bottom padding-left padding-right padding-top position right
table-layout text-align text-decoration text-overflow top vertical-align visibility white-space width word-break
word-wrap z-index align-content align-items align-self flex flex-basis flex-direction flex-grow flex-shrink flex-wrap
grid grid-area grid-column grid-gap grid-row grid-template-columns grid-template-rows gap row-gap column-gap
justify-content justify-items justify-self order place-items
""".split())


def style_properties(html: str) -> list[str]:
    """Every CSS property named in a ``style="..."`` attribute of ``html``."""
    out = []
    for style in re.findall(r'style="([^"]*)"', html):
        for decl in style.split(";"):
            if decl.strip():
                out.append(decl.split(":", 1)[0].strip().lower())
    return out


def assert_jupyterlab_styles(html: str) -> None:
    """No ``<style>`` element, and only inline properties JupyterLab keeps."""
    assert "<style" not in html
    props = style_properties(html)
    assert props, "no inline style at all"
    assert not [p for p in props if p not in ALLOWED], sorted(set(props) - ALLOWED)
