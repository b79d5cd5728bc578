#!/bin/sh
# Ends with status 3 once the probe writes into the FIFO.
read x < @DIR@/fifo-crash
exit 3
