# Runs a command on a new pseudo-terminal, as a user's terminal would: for tests of `tej shell`.
# Usage: python3 pty-drive.py ROWS COLS COMMAND [ARGS...]
# Its stdin: JSON lines, {"send": "text"} (typed on the terminal) or {"resize": [rows, cols]} (the
# terminal's new size: the kernel sends SIGWINCH to the command). Its stdout: everything the terminal
# shows, byte for byte. Its exit status: the command's (128+N for signal N).
import fcntl
import json
import os
import pty
import select
import struct
import sys
import termios

rows, cols = int(sys.argv[1]), int(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))
    os.execvp(sys.argv[3], sys.argv[3:])

inputs = [fd, 0]
pending = b''
while True:
    readable, _, _ = select.select(inputs, [], [])
    if 0 in readable:
        data = os.read(0, 65536)
        if not data:
            inputs.remove(0)
        pending += data
        while b'\n' in pending:
            line, pending = pending.split(b'\n', 1)
            request = json.loads(line)
            if 'send' in request:
                os.write(fd, request['send'].encode())
            if 'resize' in request:
                r, c = request['resize']
                fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', r, c, 0, 0))
    if fd in readable:
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the command and everything it started closed the terminal
            data = b''
        if not data:
            break
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()

_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
