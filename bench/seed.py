"""Creates N users over SCIM (keep-alive connections, a few threads) and writes `id userName`
per line for the wrk scripts. Usage: seed.py BASE_URL TOKEN COUNT OUT_FILE"""

import http.client
import json
import os
import sys
import threading
import urllib.parse


def seed(base, token, first, count, out, lock, failures):
    try:
        seed_range(base, token, first, count, out, lock)
    except Exception as error:  # reported by main: a thread's exception would vanish
        failures.append(error)


def seed_range(base, token, first, count, out, lock):
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}
    lines = []
    for number in range(first, first + count):
        name = f"seed-{number}@bench.example"
        body = json.dumps({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": name,
            "name": {"givenName": "Seed", "familyName": str(number)},
            "emails": [{"value": name, "type": "work", "primary": True}],
        })
        connection.request("POST", f"{url.path}/Users", body, headers)
        response = connection.getresponse()
        payload = response.read()
        if response.status != 201:
            raise RuntimeError(f"seeding {name}: {response.status} {payload[:200]!r}")
        lines.append(f"{json.loads(payload)['id']} {name}\n")
    with lock:
        out.writelines(lines)


def main():
    base, token, count, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    workers = int(os.environ.get("BENCH_SEED_CONNECTIONS", "8"))
    lock = threading.Lock()
    failures = []
    with open(path, "w") as out:
        share = (count + workers - 1) // workers
        threads = [
            threading.Thread(
                target=seed,
                args=(base, token, i * share, max(0, min(share, count - i * share)), out, lock, failures),
            )
            for i in range(workers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    if failures:
        raise SystemExit(f"seeding failed: {failures[0]}")


if __name__ == "__main__":
    main()
