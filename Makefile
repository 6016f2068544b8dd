# Two commands matter: `make run` and `make test`. Everything else is what they depend on.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages the test suite drives for real (dig for the DNS server tests); the
# interop MTAs (Postfix, OpenDKIM, swaks, a private Exim) come from tools/interop/install.sh.
SYSTEM_PACKAGES := $(shell cat tools/system-packages.txt 2>/dev/null | grep -v '^\#')

.PHONY: run test bench sysdeps venv clean

run: $(STAMP)
	$(BIN)/smtp-sandbox serve

test: $(STAMP) sysdeps
	$(BIN)/python -m pytest -n auto -q

bench: $(STAMP)
	$(BIN)/python -m bench

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

# Installs the Debian packages the tests use when they are missing (needs root, as in CI).
sysdeps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
		else echo "not root: install these Debian packages yourself:$$missing (the tests that need them will fail saying so)"; fi; \
	fi
	@bash tools/interop/install.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache
