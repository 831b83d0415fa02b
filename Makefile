# eta: the two commands are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
CATALOGUES := $(wildcard eta/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)

.PHONY: run test install lint typecheck pytest pytest-hsm translations extract-messages bench clean

run: install
	$(BIN)/python -m eta.dev.devrun

test: install lint typecheck pytest pytest-hsm

install: $(STAMP) $(COMPILED)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "eta needs Python 3.11 or newer"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Catalogues are compiled in the build, never committed.
%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -i $< -o $@

translations: $(COMPILED)

# Sorted, without source locations: a catalogue changes only where a message does, so branches
# that add messages merge without rewriting each other's catalogue.
extract-messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k _n --no-location --sort-output -o eta/translations/messages.pot .
	$(BIN)/pybabel update -i eta/translations/messages.pot -d eta/translations --no-fuzzy-matching

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest

# The suites that sign, again with the app's keys in a SoftHSM2 token (ETA_KEYS_BACKEND=pkcs11):
# tokens, JWKS, rotation, `eta keys`, audit checkpoints. Skipped without softhsm2, except in CI.
HSM_SUITES := tests/issuance tests/audit tests/authorisations tests/api/test_audit_api.py
pytest-hsm: install
	ETA_TEST_KEYS_BACKEND=pkcs11 $(BIN)/pytest $(HSM_SUITES)

bench: install
	@echo "Benchmarks live in bench/; run one, e.g. $(BIN)/python bench/match_quality.py"

clean:
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache
