"""`muster roster import --site SITE DIR`: a OneRoster CSV bundle (the folder a student
information system exports) sent to a running Muster's `POST /v1/sites/{site}/roster`.

Only what changed since the last import is written; the same export again writes nothing. A
bundle with bad rows is refused whole, each row printed as FILE:LINE FIELD: MESSAGE.
"""

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from command.bootstrap import runtime_file
from command.domain.oneroster import FILES
from command.infra.config import Settings

TIMEOUT_S = 300.0  # a district's bundle is parsed and decided before the answer


def add_parser(sub: Any) -> argparse.ArgumentParser:
    roster = sub.add_parser("roster", help="rosters from a student information system")
    cmds = roster.add_subparsers(dest="roster_cmd", required=True)
    p = cmds.add_parser("import", help="import a OneRoster 1.1/1.2 CSV bundle (a folder)")
    p.add_argument("dir", help="the folder with users.csv, enrollments.csv, classes.csv, "
                               "demographics.csv (and manifest.csv)")
    p.add_argument("--site", required=True)
    p.add_argument("--school", help="in a district's export, the school's org sourcedId "
                                    "(orgs.csv): only its classes, students and staff")
    p.add_argument("--token", help="an admin token (default: MUSTER_TOKEN)")
    p.add_argument("--url")
    return p


def bundle(folder: Path) -> dict[str, str]:
    """The bundle's files by name; a file name OneRoster does not know is left out."""
    return {name: (folder / name).read_text(encoding="utf-8-sig") for name in FILES
            if (folder / name).is_file()}


def roster(settings: Settings, args: argparse.Namespace) -> int:
    token = args.token or os.environ.get("MUSTER_TOKEN")
    if not token:
        print("muster: a token is needed: --token or MUSTER_TOKEN", file=sys.stderr)
        return 2
    folder = Path(args.dir)
    if not (folder / "users.csv").is_file():
        print(f"muster: {folder} has no users.csv", file=sys.stderr)
        return 2
    url = runtime_file.http_url(settings, args.url)
    request = urllib.request.Request(
        f"{url}/v1/sites/{args.site}/roster"
        + (f"?{urllib.parse.urlencode({'school': args.school})}" if args.school else ""),
        method="POST",
        data=json.dumps({"files": bundle(folder)}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as resp:
            doc = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        doc = json.loads(exc.read() or b"{}")
        for row in doc.get("rows", []):
            field = f" {row['field']}" if row["field"] else ""
            print(f"{row['file']}:{row['line']}{field}: {row['message']}", file=sys.stderr)
        print(f"muster: {doc.get('error', {}).get('message', exc.reason)}", file=sys.stderr)
        return 1
    except urllib.error.URLError as exc:
        print(f"muster: cannot reach {url}: {exc.reason}", file=sys.stderr)
        return 1
    for warning in doc.get("warnings", []):
        print(f"warning: {warning}", file=sys.stderr)
    if not doc.get("changed"):
        print(f"unchanged: {doc.get('people', 0)} people, nothing written")
        return 0
    print(f"imported: {doc['added']} added, {doc['changed_people']} changed, "
          f"{doc['removed']} removed; restrictions {doc.get('restrictions_added', 0)} added, "
          f"{doc.get('restrictions_removed', 0)} removed, "
          f"{doc.get('restrictions_kept_for_removed', 0)} kept for removed people "
          f"(seq {doc.get('seq')})")
    for said in doc.get("dropped", []):
        print(f"  {said}")
    return 0
