"""Walks a SCIM server's /Users the way an IdP's import does: one keep-alive connection, pages
of 100, by startIndex or by RFC 9865 cursor, until the last user. Checks the walk: every id
once, as many as totalResults. Prints `pages users seconds`.

Usage: walk.py BASE_URL TOKEN index|cursor [EXTRA_QUERY]
       walk.py BASE_URL TOKEN repeat START_INDEX TIMES [EXTRA_QUERY]   (one page, again and again)
       walk.py BASE_URL TOKEN jumps TIMES [EXTRA_QUERY]   (pages at random startIndex, the same
                                                           ones every run)"""

import http.client
import json
import random
import sys
import time
import urllib.parse


def main():
    base, token, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    headers = {"Authorization": f"Bearer {token}"}

    def page(query):
        connection.request("GET", f"{url.path}/Users?{query}", headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"walk: {query}: {response.status} {body[:300]!r}")
        return json.loads(body)

    started = time.monotonic()
    if mode == "repeat":
        start, times = int(sys.argv[4]), int(sys.argv[5])
        extra = "&" + sys.argv[6] if len(sys.argv) > 6 else ""
        for _ in range(times):
            found = page(f"startIndex={start}&count=100{extra}")
            if not found.get("Resources"):
                raise SystemExit(f"walk: startIndex={start} gave no users")
        print(times, times * 100, f"{time.monotonic() - started:.2f}")
        return
    if mode == "jumps":
        times = int(sys.argv[4])
        extra = "&" + sys.argv[5] if len(sys.argv) > 5 else ""
        total = page(f"count=0{extra}")["totalResults"]
        starts = random.Random(21).sample(range(1, total + 1), times)
        started = time.monotonic()
        for start in starts:
            if not page(f"startIndex={start}&count=100{extra}").get("Resources"):
                raise SystemExit(f"walk: startIndex={start} gave no users")
        print(times, times * 100, f"{time.monotonic() - started:.2f}")
        return
    extra = "&" + sys.argv[4] if len(sys.argv) > 4 else ""
    seen, pages, total = set(), 0, None
    start, cursor = 1, ""
    while True:
        if mode == "index":
            found = page(f"startIndex={start}&count=100{extra}")
        else:
            found = page(f"cursor={urllib.parse.quote(cursor)}&count=100{extra}")
        pages += 1
        total = found["totalResults"] if total is None else total
        resources = found.get("Resources", [])
        seen.update(resource["id"] for resource in resources)
        start += len(resources)
        cursor = found.get("nextCursor")
        if (mode == "index" and (not resources or start > total)) or (mode == "cursor" and not cursor):
            break
    if len(seen) != total:
        raise SystemExit(f"walk: saw {len(seen)} distinct users of totalResults {total}")
    print(pages, len(seen), f"{time.monotonic() - started:.2f}")


if __name__ == "__main__":
    main()
