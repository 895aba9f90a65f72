"""Narrative XHTML checks (R4 narrative.html#xhtml, invariants txt-1 and txt-2).

The div must be well-formed XHTML rooted in ``<div xmlns="http://www.w3.org/1999/xhtml">``, with
content, and only the basic formatting elements and attributes: no scripts, forms, frames, objects,
event handlers or ``javascript:`` links. A clinical record shown in browsers must not store script.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

XHTML = "{http://www.w3.org/1999/xhtml}"
# HTML 4.0 chapters 7-11 and 15 (minus the parts txt-1 excludes), plus a and img, as txt-1 allows.
ALLOWED_ELEMENTS = frozenset({
    "a", "abbr", "acronym", "address", "b", "big", "blockquote", "br", "caption", "cite", "code", "col",
    "colgroup", "dd", "dfn", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img",
    "kbd", "li", "ol", "p", "pre", "q", "samp", "small", "span", "strong", "sub", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "tt", "ul", "var",
})
ALLOWED_ATTRIBUTES = frozenset({
    "abbr", "accesskey", "align", "alt", "axis", "bgcolor", "border", "cellhalign", "cellpadding",
    "cellspacing", "cellvalign", "char", "charoff", "charset", "cite", "class", "colspan", "compact", "coords",
    "dir", "frame", "headers", "height", "href", "hreflang", "hspace", "id", "lang", "longdesc", "name",
    "nowrap", "rel", "rev", "rowspan", "rules", "scope", "shape", "span", "src", "start", "style", "summary",
    "tabindex", "title", "type", "valign", "value", "vspace", "width",
})


def narrative_problem(div: str) -> str | None:
    """None when the narrative is acceptable, else why not (Spanish / English)."""
    if "<!DOCTYPE" in div or "<!ENTITY" in div:
        return "la narrativa no puede declarar DTD ni entidades / narrative may not declare a DTD or entities"
    try:
        root = ElementTree.fromstring(div)
    except ElementTree.ParseError as exc:
        return f"la narrativa no es XHTML bien formado / narrative is not well-formed XHTML: {exc}"
    if root.tag != f"{XHTML}div":
        return 'la raíz debe ser <div xmlns="http://www.w3.org/1999/xhtml"> / the root must be an XHTML div'
    if not ("".join(root.itertext()).strip() or root.find(f".//{XHTML}img") is not None):
        return "la narrativa está vacía (txt-2) / the narrative has no content (txt-2)"
    for element in root.iter():
        if not element.tag.startswith(XHTML) or element.tag[len(XHTML):] not in ALLOWED_ELEMENTS:
            return f"elemento no permitido / element not allowed (txt-1): {element.tag.replace(XHTML, '')}"
        for attribute, value in element.attrib.items():
            local = attribute.rsplit("}", 1)[-1]
            if local not in ALLOWED_ATTRIBUTES:
                return f"atributo no permitido / attribute not allowed (txt-1): {local}"
            if local in ("href", "src") and value.strip().lower().startswith(("javascript:", "vbscript:", "data:text")):
                return f"enlace no permitido / link not allowed (txt-1): {value[:40]}"
    return None
