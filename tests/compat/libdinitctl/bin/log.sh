#!/bin/sh
# Two lines for the log buffer, then runs until stopped.
echo hello
echo world
exec /bin/sleep 1000
