# Lectern developer commands. `make dev` and `make test` work on a fresh clone:
# each creates .venv (Python 3.13) and installs what it needs first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# checkov conflicts with SAM CLI's pins: it gets a venv of its own.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
export PYTHONPATH := layers/common:devtools
export SAM_CLI_TELEMETRY := 0

.PHONY: dev test invoke catalog-apply openapi request-validators build validate lint smoke bench bench-burst clean deploy secrets stripe-webhook

$(STAMP): requirements/dev.txt $(wildcard layers/common/requirements*.txt) scripts/bootstrap-venv
	scripts/bootstrap-venv

$(CHECKOV_STAMP): requirements/checkov.txt
	rm -rf $(CHECKOV_VENV)
	"$$(scripts/find-python313)" -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/checkov.txt
	touch $@

dev: $(STAMP) ## start the local stack with the demo catalog
	$(PY) -m lectern_dev.stack

test: $(STAMP) ## run the test suite
	$(PY) -m pytest $(PYTEST_ARGS)

invoke: $(STAMP) ## make invoke FUNCTION=CatalogFunction EVENT=events/catalog_list_courses.json [AS=<email>] [SIGN=1]
	@test -n "$(FUNCTION)" -a -n "$(EVENT)" || { echo "usage: make invoke FUNCTION=<logical id> EVENT=events/<file>.json [AS=<email>] [SIGN=1]"; exit 2; }
	$(PY) -m lectern_dev.invoke $(FUNCTION) $(EVENT) $(if $(AS),--as '$(AS)') $(if $(filter 1 yes true,$(SIGN)),--sign)

catalog-apply: $(STAMP) ## make catalog-apply CATALOG=catalog/demo.yaml [STAGE=staging: the deployed stage's tables, bucket, Stripe secret]
	$(if $(filter-out file,$(origin STAGE)),exports=$$($(PY) -m lectern_admin stack-env --stage $(STAGE)) && eval "$$exports" && )$(PY) -m lectern_admin catalog apply $(or $(CATALOG),catalog/demo.yaml)

openapi: $(STAMP) ## regenerate docs/openapi.json from the code
	$(PY) -m lectern_dev.openapi --write

request-validators: $(STAMP) ## regenerate layers/common/lectern/api/request_validators.py from the request models
	$(PY) -m lectern_dev.request_validators --write

validate: $(STAMP) ## sam validate --lint
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH sam validate --lint

lint: $(STAMP) $(CHECKOV_STAMP) ## cfn-lint and checkov on template.yaml (offline; skips are explained in the template)
	$(VENV)/bin/cfn-lint template.yaml
	BC_SKIP_MAPPING=TRUE $(CHECKOV_VENV)/bin/checkov --file template.yaml --framework cloudformation \
		--skip-download --compact --quiet

build: $(STAMP) ## sam build (arm64, as deployed), then fail if any native file in it is for another machine
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH sam build
	$(PY) -m lectern_dev.build_arch .aws-sam/build

# Deploying (docs/deploy.md): STAGE=dev|staging|prod; the others are optional and, once given, kept by
# later deploys (the stack remembers them): EMAIL_FROM, DOMAIN, CERTIFICATE_ARN, ALARM_EMAIL, CATALOG, and
# PARAMETERS="Key=value ..." for any other template parameter.
STAGE ?= dev
given = $(if $(filter-out undefined,$(origin $(1))),$(2) '$($(1))')
DEPLOY_ARGS = --stage $(STAGE) $(call given,EMAIL_FROM,--email-from) $(call given,DOMAIN,--domain) \
	$(call given,CERTIFICATE_ARN,--certificate-arn) $(call given,ALARM_EMAIL,--alarm-email) \
	$(call given,CATALOG,--catalog) $(if $(filter 1 yes true,$(NO_CATALOG)),--no-catalog) \
	$(if $(filter 1 yes true,$(CONFIRM)),--confirm) $(foreach p,$(PARAMETERS),--parameter '$(p)')

deploy: $(STAMP) ## make deploy STAGE=staging [EMAIL_FROM=...] [DOMAIN=... CERTIFICATE_ARN=...] [ALARM_EMAIL=...] [CATALOG=...] [DRY_RUN=1]
ifeq ($(filter 1 yes true,$(DRY_RUN)),)
	$(MAKE) --no-print-directory build
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) -m lectern_admin deploy $(DEPLOY_ARGS)
else
	$(PY) -m lectern_admin deploy $(DEPLOY_ARGS) --dry-run
endif

secrets: $(STAMP) ## make secrets STAGE=staging [ONLY=stripe|playback]: asks for each key (no echo), stores it in the stack's secret
	$(PY) -m lectern_admin secrets set --stage $(STAGE) $(if $(ONLY),--only $(ONLY))

stripe-webhook: $(STAMP) ## make stripe-webhook STAGE=staging: registers the webhook URL in Stripe, stores its signing secret
	$(PY) -m lectern_admin stripe-webhook --stage $(STAGE)

smoke: $(STAMP) ## build for this machine's architecture, then invoke every function from the build (docs/testing.md)
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(PY) -m lectern_dev.smoke $(SMOKE_ARGS)

# The builds first: cold init is measured on the host-architecture build the smoke makes (and
# checks), sizes on the deployed arm64 build.
bench: $(STAMP) smoke build ## cold init, warm latency, requests per route, sizes; prints tables, writes docs/performance.md
	$(PY) -m bench.run $(BENCH_ARGS)

bench-burst: $(STAMP) ## the webhook burst (BURST_N=1000 deliveries, 16 threads) against a fresh local stack
	$(PY) -m bench.run --burst $(or $(BURST_N),1000)

clean:
	rm -rf .aws-sam
