#!/bin/sh
# A stop command that ends once the probe writes into the FIFO.
read x < @DIR@/fifo-stop
