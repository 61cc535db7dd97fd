"""The words of messages that arrive as English text (URL problems from the settings' decoder, library
errors): matched against known shapes and said in the page's language from the catalogue."""

from __future__ import annotations

import re

from simulator.text import catalogue

#: (catalogue key, pattern): the shapes of the URL decoder's and the scenario validator's messages.
PATTERNS = (
    ("lang", re.compile(r"^lang=(?P<value>.*) \(use zh or en\)$")),
    ("scenario", re.compile(r"^s=(?P<value>[^:]*): unknown scenario \(known: (?P<known>.*)\)$")),
    ("number", re.compile(r"^(?P<key>[^=]+)=(?P<value>.*): not a number or a list of year:value$")),
    ("unknown", re.compile(r"^.*?: unknown variable '(?P<key>[^']+)'.*$")),
    ("not_lever", re.compile(r"^.*?: '(?P<key>[^']+)' is not a lever.*$")),
    ("range", re.compile(r"^.*?: '(?P<key>[^']+)' = (?P<value>\S+) is outside its range \[(?P<low>[^,]+), "
                         r"(?P<high>[^\]]+)\].*$")),
    ("constant", re.compile(r"^.*?: '(?P<key>[^']+)' is a constant.*$")),
    ("years", re.compile(r"^.*?: '(?P<key>[^']+)' time path year (?P<value>\S+) is outside the model's years.*$")),
    ("path", re.compile(r"^.*?: '(?P<key>[^']+)' time path.*$")),
    ("tab", re.compile(r"^tab=(?P<value>.*): unknown tab.*$")),
    ("compare", re.compile(r"^cmp=(?P<value>.*): unknown scenario$")),
    ("indicator", re.compile(r"^ind=(?P<value>.*): unknown indicator$")),
    ("twice", re.compile(r"^(?P<key>[^=]+)=.*: the same lever as (?P<other>.*) \(give it once\)$")),
)


def url_problem(problem: str, lang: str, title=None) -> str:
    """One ignored URL parameter, said in ``lang`` (a shape not known: the parameter's name only);
    ``title`` names a scenario file in ``lang``."""
    words = catalogue("app.messages")[lang]
    for key, pattern in PATTERNS:
        found = pattern.match(problem)
        if found:
            fields = found.groupdict()
            if "known" in fields and title:
                fields["known"] = words["list_sep"].join(title(n.strip()) for n in fields["known"].split(","))
            return words[key].format(**fields)
    if lang == "en":  # the decoder's own words are English: nothing is lost by showing them as they are
        return problem
    name = re.match(r"^\W*([\w.-]+)", problem)
    return words["other"].format(key=name.group(1) if name else "?")
