# Native tests for core/allowedips and io/ (run from the repo root or anywhere):
#   make -f native/tests/Makefile.io            build and run both suites
#   make -f native/tests/Makefile.io sanitize   the same under ASan+UBSan
# io_test needs root (it makes its own network namespace); it skips itself otherwise.
ROOT     := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))/../..)
OUT      ?= $(ROOT)/build/native-tests-io
CXX      ?= g++
CXXFLAGS ?= -std=c++20 -O2 -Wall -Wextra -fno-exceptions -pthread
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -g -O1

NATIVE   := $(ROOT)/native
IO_SRCS  := $(NATIVE)/io/endpoint.cc $(NATIVE)/io/tun.cc $(NATIVE)/io/vnet.cc $(NATIVE)/io/udp.cc $(NATIVE)/io/poller.cc
IO_HDRS  := $(wildcard $(NATIVE)/io/*.h) $(NATIVE)/tests/io/harness.h
AIP_SRCS := $(NATIVE)/core/allowedips.cc
AIP_HDRS := $(NATIVE)/core/allowedips.h $(NATIVE)/tests/io/harness.h
INC      := -I$(NATIVE)/tests

.PHONY: all build run sanitize clean
all: run

build: $(OUT)/allowedips_test $(OUT)/io_test

run: build
	$(OUT)/allowedips_test
	$(OUT)/io_test

$(OUT)/allowedips_test: $(NATIVE)/tests/allowedips_test.cc $(AIP_SRCS) $(AIP_HDRS)
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) $(EXTRA) $(INC) -o $@ $(NATIVE)/tests/allowedips_test.cc $(AIP_SRCS)

$(OUT)/io_test: $(NATIVE)/tests/io/io_test.cc $(IO_SRCS) $(IO_HDRS)
	@mkdir -p $(@D)
	$(CXX) $(CXXFLAGS) $(EXTRA) $(INC) -o $@ $(NATIVE)/tests/io/io_test.cc $(IO_SRCS)

sanitize:
	$(MAKE) -f $(lastword $(MAKEFILE_LIST)) run OUT=$(OUT)/sanitize EXTRA="$(SAN)"

clean:
	rm -rf $(OUT)
