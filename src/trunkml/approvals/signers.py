"""The allowed-signers file: who may sign approvals, with which key, and who each person is.

It is git's ``gpg.ssh.allowedSignersFile`` format (``man ssh-keygen``, ALLOWED SIGNERS), so one file
serves ``git verify-commit`` and trunkml::

    # principals (the first one is the identity)       options                           key            names
    jdoe,jane.doe@corp.example,123+jdoe@users.noreply.github.com namespaces="git,trunkml-approval" \
        ssh-ed25519 AAAA… Jane Doe

(one line in the file; it is wrapped here).

The **first principal is the person's canonical identity** (a GitHub login, say); the others are the
emails and logins that also name them, and the trailing comment lists display names (``;``-separated).
A commit's ``Name <email>`` and an approver are then compared as identities, not as strings, so
``jdoe``, ``Jane Doe <jane.doe@corp.example>`` and ``Jane  Doe`` are one person.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from trunkml.approvals.sshsig import fingerprint
from trunkml.errors import ConfigError, IntegrityError

NOREPLY = re.compile(r"^(?:\d+\+)?(?P<login>[^@]+)@users\.noreply\.github\.com$", re.IGNORECASE)
PERSON = re.compile(r"^\s*(?P<name>[^<]*?)\s*<(?P<email>[^>]*)>\s*$")
KEY_TYPES = re.compile(r"^(ssh-|ecdsa-|sk-)")


def normal_name(text: str) -> str:
    """A name compared the way people read it: case and runs of spaces do not matter."""
    return " ".join(text.split()).casefold()


def forms(person: str) -> set[str]:
    """Every normalised form a person may be written in: name, email, its local part, a GitHub login."""
    match = PERSON.match(person)
    name, email = (match.group("name"), match.group("email")) if match else ("", person.strip())
    if "@" not in email:
        name, email = name or email, ""
    found = {normal_name(name), email.casefold(), email.split("@")[0].casefold()}
    if noreply := NOREPLY.match(email):
        found.add(noreply.group("login").casefold())
    return found - {""}


def _time(value: str, line: int, path: Path) -> datetime:
    digits = value.strip('"').rstrip("Z")
    for layout in ("%Y%m%d%H%M%S", "%Y%m%d%H%M", "%Y%m%d"):
        try:
            return datetime.strptime(digits, layout).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise ConfigError(f"{path}:{line}: '{value}' is not a YYYYMMDD[HHMM[SS]] time")


@dataclass(frozen=True)
class Signer:
    """One line of the allowed-signers file: a person and one of their keys."""

    identity: str
    principals: tuple[str, ...]
    names: tuple[str, ...]
    key: bytes
    namespaces: tuple[str, ...] | None
    valid_after: datetime | None
    valid_before: datetime | None
    line: int

    @property
    def forms(self) -> set[str]:
        """Every normalised way this person may be written (see :func:`forms`)."""
        found: set[str] = set()
        for text in (*self.principals, *self.names):
            found |= forms(text)
        return found

    def names_person(self, person: str) -> bool:
        """True when ``person`` (``Name <email>``, an email, a login, a name) is this signer."""
        return bool(forms(person) & self.forms)


def _split_options(text: str) -> list[str]:
    """``a,b="x,y",c`` → ``["a", 'b="x,y"', "c"]``: commas inside double quotes do not split."""
    parts, current, quoted = [], "", False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    return [part for part in (*parts, current) if part]


def _options(text: str, line: int, path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for option in _split_options(text):
        key, _, value = option.partition("=")
        found[key.lower()] = value.strip('"')
    unknown = set(found) - {"namespaces", "valid-after", "valid-before", "cert-authority"}
    if unknown:
        raise ConfigError(f"{path}:{line}: unknown option(s) {', '.join(sorted(unknown))}")
    if "cert-authority" in found:
        raise ConfigError(f"{path}:{line}: cert-authority lines are not supported; list each person's key")
    return found


def _parse(raw: str, line: int, path: Path) -> Signer:
    if raw.startswith('"'):
        principals_text, _, rest = raw[1:].partition('"')
    else:
        principals_text, _, rest = raw.partition(" ")
    words = rest.split()
    key_at = next((i for i, word in enumerate(words) if KEY_TYPES.match(word)), None)
    if key_at is None or key_at + 1 >= len(words):
        raise ConfigError(f"{path}:{line}: expected 'principals [options] key-type base64-key [names]'")
    options = _options(" ".join(words[:key_at]), line, path)
    try:
        key = base64.b64decode(words[key_at + 1], validate=True)
    except ValueError as exc:
        raise ConfigError(f"{path}:{line}: the key is not valid base64") from exc
    principals = tuple(p.strip() for p in principals_text.split(",") if p.strip())
    names = tuple(n.strip() for n in " ".join(words[key_at + 2 :]).split(";") if n.strip())
    namespaces = tuple(options["namespaces"].split(",")) if "namespaces" in options else None
    after, before = options.get("valid-after"), options.get("valid-before")
    return Signer(
        identity=principals[0].casefold() if principals else "",
        principals=principals,
        names=names,
        key=key,
        namespaces=namespaces,
        valid_after=_time(after, line, path) if after else None,
        valid_before=_time(before, line, path) if before else None,
        line=line,
    )


@dataclass(frozen=True)
class AllowedSigners:
    """Everyone who may sign approvals, read from the project's allowed-signers file."""

    path: Path
    signers: tuple[Signer, ...]

    @classmethod
    def load(cls, path: Path) -> AllowedSigners:
        """Parse ``path``; a malformed line is a ConfigError naming the file and the line."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path, ())
        except OSError as exc:
            raise ConfigError(f"cannot read the allowed-signers file {path}: {exc.strerror}") from exc
        found = [
            _parse(raw.strip(), number, path)
            for number, raw in enumerate(text.splitlines(), start=1)
            if raw.strip() and not raw.lstrip().startswith("#")
        ]
        return cls(path, tuple(found))

    def signer_of(self, key: bytes, namespace: str, at: datetime) -> Signer:
        """The person whose listed key ``key`` is, allowed to sign in ``namespace`` at ``at``.

        ``at`` is the signer's own claim, so an expired key (``valid-before`` in the past) is refused
        at any time it claims: a lapsed key cannot backdate a statement.
        """
        now = datetime.now(UTC)
        for signer in self.signers:
            if signer.key != key:
                continue
            if signer.namespaces is not None and namespace not in signer.namespaces:
                continue
            if signer.valid_after and at < signer.valid_after:
                continue
            if signer.valid_before and (at > signer.valid_before or now > signer.valid_before):
                continue
            return signer
        raise IntegrityError(
            f"the key {fingerprint(key)} is not an allowed signer for '{namespace}' in {self.path.name}",
            hint=f"add the approver's public key to {self.path.name} in a reviewed commit",
        )

    def login(self, login: str) -> Signer | None:
        """The person whose principals name this GitHub login exactly (or as a noreply address), if any.

        Only exact principals count here: an email's local part or a display name that happens to equal
        a login must not turn one reviewer into another person.
        """
        wanted = login.strip().casefold()
        for signer in self.signers:
            principals = {p.casefold() for p in signer.principals}
            logins = {m.group("login").casefold() for p in signer.principals if (m := NOREPLY.match(p))}
            if wanted in principals | logins:
                return signer
        return None

    def person(self, text: str) -> Signer | None:
        """The listed person ``text`` names (a login, an email, ``Name <email>`` or a name), if any."""
        wanted = forms(text)
        exact = [s for s in self.signers if wanted & {p.casefold() for p in s.principals}]
        return exact[0] if exact else next((s for s in self.signers if wanted & s.forms), None)

    def identity(self, text: str) -> str:
        """``text``'s canonical identity: the first principal of the person it names, else its email or name."""
        found = self.person(text)
        if found is not None:
            return found.identity
        match = PERSON.match(text)
        return (match.group("email") if match else text).strip().casefold() or normal_name(text)

    def same_person(self, approver: str, author: str) -> bool:
        """True when ``author`` (a commit's ``Name <email>``) may be ``approver`` (a canonical identity).

        Deliberately generous: any shared email, login or normalised name counts, because wrongly
        calling two people one only asks for another reviewer, while the opposite lets an author approve.
        """
        if self.identity(author) == approver:
            return True
        approving = [s for s in self.signers if s.identity == approver]
        mine = set().union(*(s.forms for s in approving)) if approving else forms(approver)
        return bool(mine & forms(author))
