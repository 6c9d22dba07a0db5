"""A webhook receiver for the benchmark: HTTP/1.1 with keep-alive on 127.0.0.1, answers every
POST 204 and counts it; `GET /count` answers `COUNT FIRST_NS LAST_NS` (arrival times of the
first and the latest delivery, monotonic nanoseconds). No signature check: this measures
scimd's sending, and a check would only slow the receiver.

    python3 bench/receiver.py PORT_FILE     # writes the port it listens on to PORT_FILE
"""
import asyncio
import sys
import time

count = 0
first = last = 0


async def serve(reader, writer):
    global count, first, last
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            if head.startswith(b"GET /count"):
                body = f"{count} {first} {last}".encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            else:
                now = time.monotonic_ns()
                count += 1
                first = first or now
                last = now
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    with open(sys.argv[1], "w") as out:
        out.write(str(port))
    async with server:
        await server.serve_forever()


asyncio.run(main())
