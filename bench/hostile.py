"""What hostile requests cost everyone else: /healthz latency, measured back to back on one
connection at a time, while (1) a burst of console sign-ins for an unknown email and (2) the
largest PATCHes the limits allow (1,000 operations, each a 10-term value filter over a user's
100 emails) run at once; then (3) the server's memory around a burst of the most expensive
filters allowed (cost 1,000) over users with 100 emails each. Prints one line per scenario;
run by bench/hostile.sh."""

import asyncio
import concurrent.futures
import json
import statistics
import sys
import time
import urllib.parse
import urllib.request

PORT, TOKEN, SERVER = int(sys.argv[1]), sys.argv[2], sys.argv[3]
SIGN_INS, PATCHES, FILTER_USERS = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
HEALTH = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def call(method, path, body=None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORT}{path}", method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def rss_mb():
    with open(f"/proc/{SERVER}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS"))
    return int(line.split()[1]) // 1024


def user_with_emails(n):
    return {"userName": f"f{n}@example.com",
            "emails": [{"value": f"f{n}.{k}@example.com"} for k in range(100)]}


def memory_around_expensive_filters():
    idle = rss_mb()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: call("POST", "/scim/v2/Users", user_with_emails(n)),
                      range(FILTER_USERS)))
    seeded = rss_mb()
    query = "/scim/v2/Users?" + urllib.parse.urlencode({
        "filter": " or ".join(f'emails[value co "zz{n}"]' for n in range(10)), "count": "100"})
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda _: call("GET", query), range(32)))
    took = time.perf_counter() - started
    after = rss_mb()
    time.sleep(5)
    print(f"32 filters of cost 1,000 over {FILTER_USERS} users x 100 emails (16 at once, "
          f"{took:.0f} s): RSS {idle} MB idle, {seeded} MB seeded, {after} MB after, "
          f"{rss_mb()} MB 5 s later")


async def exchange(raw):
    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
    writer.write(raw)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    return int(answer.split(b" ", 2)[1])


async def while_running(name, requests):
    burst = asyncio.ensure_future(asyncio.gather(*[exchange(raw) for raw in requests]))
    started, latencies = time.perf_counter(), []
    while not burst.done():
        sent = time.perf_counter()
        await exchange(HEALTH)
        latencies.append(time.perf_counter() - sent)
    statuses = await burst
    counts = ", ".join(f"{statuses.count(s)}x{s}" for s in sorted(set(statuses)))
    print(f"{name}: {(time.perf_counter() - started) * 1000:.0f} ms ({counts}); /healthz "
          f"n={len(latencies)} median={statistics.median(latencies) * 1000:.1f} ms "
          f"max={max(latencies) * 1000:.1f} ms")


def sign_in():
    form = b"email=nobody%40example.com&password=a+long+enough+passphrase"
    return (b"POST /admin/sign-in HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(form)) + form


def largest_patch(user_id):
    terms = " or ".join(f'value co "nomatch{n}"' for n in range(9))
    operations = [{"op": "replace", "value": f"t{n}",
                   "path": f'emails[{terms} or value eq "user{n % 100}@example.com"].type'}
                  for n in range(1000)]
    body = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": operations}).encode()
    return (f"PATCH /scim/v2/Users/{user_id} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/scim+json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


async def main():
    await while_running(f"{SIGN_INS} sign-ins at once", [sign_in()] * SIGN_INS)
    users = [call("POST", "/scim/v2/Users", {
        "userName": f"max{k}@example.com",
        "emails": [{"value": f"user{n}@example.com"} for n in range(100)]})["id"]
        for k in range(PATCHES)]
    await while_running(f"{PATCHES} largest PATCHes at once",
                        [largest_patch(user) for user in users])


asyncio.run(main())
memory_around_expensive_filters()
