"""OneRoster 1.2's roles.csv: where a 1.2 bundle says each user's role (users.csv has no `role`
column then). Pure: the users table and the roles file in, the users table with each row's
`role` (and the orgs it has a role at, as `orgSourcedIds`) filled in.

A roles.csv row is one role of one user (`userSourcedId`) at one org (`orgSourcedId`), either
the user's `primary` role or a `secondary` one (`roleType`). A user's role is their primary one;
with a school (an org's sourcedId), the role they hold at that school, primary first.
"""

from msgspec.structs import replace

from command.domain.oneroster_csv import Row, RowError, Table, read

ROLE_TYPES = ("primary", "secondary")


def with_roles(users: Table, text: str | None, school: str | None,
               errors: list[RowError]) -> Table:
    """`users` with `role` and `orgSourcedIds` set from roles.csv; a user with no role there
    is an error on their users.csv line."""
    if text is None:
        errors.append(RowError("users.csv", 1, "role", "the header has no role column and the "
                               "bundle has no roles.csv (OneRoster 1.2 puts roles there)"))
        return replace(users, rows=[])
    roles = read("roles.csv", text, ("userSourcedId", "roleType", "role"),
                 ("userSourcedId", "roleType", "role"), errors)
    held: dict[str, list[Row]] = {}
    for row in roles.rows:
        user, kind = row.get("userSourcedId"), row.get("roleType")
        if user not in users.named:
            errors.append(RowError("roles.csv", row.line, "userSourcedId",
                                   f"unknown user {user!r}"))
        elif kind not in ROLE_TYPES:
            errors.append(RowError("roles.csv", row.line, "roleType", f"bad roleType {kind!r}: "
                                   "primary or secondary"))
        else:
            held.setdefault(user, []).append(row)
    rows = []
    for row in users.rows:
        role = _role(held.get(row.get("sourcedId"), []), school)
        if role is None:
            errors.append(RowError("users.csv", row.line, "role", f"no role in roles.csv for "
                                   f"{row.get('sourcedId')!r}"))
            continue
        orgs = ",".join(dict.fromkeys(r.get("orgSourcedId") for r in
                                      held[row.get("sourcedId")] if r.get("orgSourcedId")))
        rows.append(replace(row, cells={"orgSourcedIds": orgs, **row.cells, "role": role}))
    added = [c for c in ("role", "orgSourcedIds") if c not in users.columns]
    return replace(users, columns=[*users.columns, *added], rows=rows)


def _role(rows: list[Row], school: str | None) -> str | None:
    """The primary role (at `school`, when one is given and the user has a role there)."""
    at = [r for r in rows if school and r.get("orgSourcedId") == school] or rows
    ranked = sorted(at, key=lambda r: ROLE_TYPES.index(r.get("roleType")))
    return ranked[0].get("role") if ranked else None
