"""Lectern's settings: every environment variable the layer uses is read here, once.

`settings()` builds one frozen `Settings` from the environment the first time it is
called (at a function's init: the modules a handler imports ask for it) and keeps it
for the life of the process. No other module under `lectern/` reads the environment
(tests/unit/test_settings.py checks); they ask `settings()`.

Two modes, told apart by `AWS_LAMBDA_FUNCTION_NAME` (which Lambda always sets and no
template can override):

- **Running as a Lambda function** (deployed, and everything here that imitates
  Lambda with the function's environment from template.yaml: the local stack's
  workers, `make invoke`, `make smoke`, `sam local invoke`, the benchmark): nothing a
  function uses has a default. STAGE, AWS_REGION and FRONTEND_URL are required of
  every function; everything else is required by the module that uses it, when it is
  imported (`require()`), so a function requires exactly what its handler imports
  (the catalog function needs no Stripe secret) and a missing setting stops its init
  with a ConfigurationError naming the variable, instead of a default table name or a
  link to 127.0.0.1 on the first request. Because the local stack and the smoke run
  the same checks with the template's environment, a variable missing from the
  template fails there first.
- **Anywhere else** (tests in-process, the local stack's own process, operator
  commands): a variable that is not set takes its local default below (table names
  are the template's logical ids, as the local stack and the tests name them).

A value that is set but malformed (a mail limit that is not a whole number >= 0) is
an error in both modes. Secrets: a function gets `<NAME>_SECRET_ARN` and reads the
value from Secrets Manager (`lectern.secrets`); locally the value may be given
directly (`AUTH_SIGNING_KEY`, `STRIPE_SECRET_KEY`, ...), which also satisfies the
requirement. Powertools reads its own POWERTOOLS_* variables and boto3 its AWS_*.

`reset_settings()` drops the cached object, for tests and local tools that change
the environment after it was read.
"""
import os
from collections.abc import Mapping
from dataclasses import MISSING, FrozenInstanceError, dataclass, field, fields
from functools import lru_cache


class ConfigurationError(RuntimeError):
    """A setting is missing (in a Lambda function) or malformed: the function must not start."""


def _frozen(cls):
    """What `dataclass(frozen=True)` makes of `cls` (every field required, positional or keyword; read-only;
    compared and hashed by value; `field(repr=False)` left out of the repr), without exec'ing the source of
    each method, which dataclass does at every cold start of every function: about 2.5 ms for the two classes
    here. The classes share the methods below instead (as lectern.wire's shapes share their `__init__`).
    Only what these classes need: a field with a default or with other `field()` options is refused, and
    they are not meant to be subclassed."""
    cls = dataclass(init=False, repr=False, eq=False, match_args=False)(cls)
    for f in fields(cls):
        if (f.default, f.default_factory) != (MISSING, MISSING) or not (f.init and f.compare) or f.hash is not None:
            raise TypeError(f"{cls.__name__}.{f.name}: _frozen supports required fields and field(repr=False) only")
    cls._field_names = cls.__match_args__ = tuple(f.name for f in fields(cls))
    cls._shown = tuple(f.name for f in fields(cls) if f.repr)
    cls.__init__, cls.__repr__, cls.__eq__, cls.__hash__ = _frozen_init, _frozen_repr, _frozen_eq, _frozen_hash
    cls.__setattr__, cls.__delattr__ = _refuse_assignment, _refuse_deletion
    return cls


def _frozen_init(self, /, *args, **kwargs) -> None:
    names = type(self)._field_names
    if len(args) > len(names):
        raise TypeError(f"{type(self).__name__}() takes {len(names)} arguments, {len(args)} given")
    values = dict(zip(names, args))
    twice = values.keys() & kwargs.keys()
    unknown = kwargs.keys() - set(names)
    if twice or unknown:
        raise TypeError(f"{type(self).__name__}() got {'repeated' if twice else 'unexpected'} arguments "
                        f"{sorted(twice or unknown)}")
    values.update(kwargs)
    missing = [name for name in names if name not in values]
    if missing:
        raise TypeError(f"{type(self).__name__}() missing arguments {missing}")
    for name in names:
        object.__setattr__(self, name, values[name])


def _refuse_assignment(self, name, _value) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _refuse_deletion(self, name) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _frozen_repr(self) -> str:
    return f"{type(self).__name__}({', '.join(f'{name}={getattr(self, name)!r}' for name in type(self)._shown)})"


def _values(self) -> tuple:
    return tuple(getattr(self, name) for name in type(self)._field_names)


def _frozen_eq(self, other):
    return _values(self) == _values(other) if type(other) is type(self) else NotImplemented


def _frozen_hash(self) -> int:
    return hash(_values(self))


@_frozen
class SecretSource:
    """Where one secret value comes from: given directly (`variable`, local stack and tests),
    or the JSON field `json_field` of the Secrets Manager secret that `arn_variable` names."""

    variable: str
    value: str = field(repr=False)  # never in a log line or a traceback
    arn_variable: str
    arn: str
    json_field: str


# The plain settings (Settings field: the variable in lower case).
# Required, in a Lambda function, by the modules that use them; anywhere else these local defaults stand in.
LOCAL_DEFAULTS: dict[str, str] = {
    "STAGE": "dev",
    "FRONTEND_URL": "http://127.0.0.1:3002",
    "EMAIL_FROM": "no-reply@lectern.example",
    "ASSETS_BUCKET": "assetsbucket",
    # Table names: the template's logical ids, which is how the local stack and the tests name them.
    "CATALOG_TABLE": "CatalogTable",
    "USERS_TABLE": "UsersTable",
    "ORDERS_TABLE": "OrdersTable",
    "ENTITLEMENTS_TABLE": "EntitlementsTable",
    "STRIPE_EVENTS_TABLE": "StripeEventsTable",
    "STREAM_CUSTOMER_CODE": "lectern-dev",
}
# Optional everywhere.
OPTIONAL_DEFAULTS: dict[str, str | None] = {
    "LOG_LEVEL": "INFO",
    "AUTH_ISSUER": "lectern",
    # Never set when deployed: the local Stripe emulator and Stream stand-in.
    "STRIPE_API_BASE": None,
    "STREAM_BASE_URL": None,
    # Deployed: the SSM parameter holding the shop's address (the distribution is made after the
    # functions, so their environment cannot name it); FRONTEND_URL, when given, wins.
    "FRONTEND_URL_PARAMETER": None,
    # Deployed: the SES configuration set that publishes bounces and complaints.
    "EMAIL_CONFIGURATION_SET": None,
}
# Limits on what clients can ask for (whole numbers >= 0; 0 turns a checkout limit off).
MAIL_LIMIT_DEFAULTS = {"MAIL_LIMIT_PER_ADDRESS": 3, "MAIL_LIMIT_PER_CLIENT": 20,
                       "CHECKOUT_LIMIT_PER_IP": 30, "CHECKOUT_LIMIT_PER_BUYER": 10}
# (field, value variable, ARN variable, JSON field of the secret)
SECRETS = (
    ("auth_signing_key", "AUTH_SIGNING_KEY", "AUTH_SECRET_ARN", "signing_key"),
    ("stripe_secret_key", "STRIPE_SECRET_KEY", "STRIPE_SECRET_ARN", "secret_key"),
    ("stripe_webhook_secret", "STRIPE_WEBHOOK_SECRET", "STRIPE_SECRET_ARN", "webhook_secret"),
    ("playback_key_id", "PLAYBACK_KEY_ID", "PLAYBACK_SECRET_ARN", "key_id"),
    ("playback_private_key_pem", "PLAYBACK_SIGNING_KEY_PEM", "PLAYBACK_SECRET_ARN", "private_key_pem"),
)
# What every Lambda function must be given (the template's Globals, and Lambda's own AWS_REGION).
REQUIRED_OF_EVERY_FUNCTION = ("STAGE", "AWS_REGION", "FRONTEND_URL")
# Everything that can be required: the plain settings and the secrets' ARN variables.
REQUIRABLE = frozenset(LOCAL_DEFAULTS) | {"AWS_REGION"} | {arn for _, _, arn, _ in SECRETS}
# Every variable read here (README's Configuration table lists each one; a test checks).
VARIABLES = (frozenset(LOCAL_DEFAULTS) | frozenset(OPTIONAL_DEFAULTS) | frozenset(MAIL_LIMIT_DEFAULTS)
             | {"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME"}
             | {name for _, name, _, _ in SECRETS} | {arn for _, _, arn, _ in SECRETS})


@_frozen
class Settings:
    """Every setting of this process (`settings()`), read once from the environment."""

    function_name: str | None  # AWS_LAMBDA_FUNCTION_NAME: set when running as a Lambda function
    stage: str
    region: str  # AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1
    log_level: str
    frontend_url: str  # without a trailing slash
    email_from: str
    assets_bucket: str
    catalog_table: str
    users_table: str
    orders_table: str
    entitlements_table: str
    stripe_events_table: str
    auth_issuer: str
    stream_customer_code: str
    stripe_api_base: str | None
    stream_base_url: str | None
    frontend_url_parameter: str | None
    frontend_url_from_parameter: bool  # FRONTEND_URL not given, FRONTEND_URL_PARAMETER given: read SSM
    email_configuration_set: str | None
    mail_limit_per_address: int
    mail_limit_per_client: int
    checkout_limit_per_ip: int
    checkout_limit_per_buyer: int
    auth_signing_key: SecretSource
    stripe_secret_key: SecretSource
    stripe_webhook_secret: SecretSource
    playback_key_id: SecretSource
    playback_private_key_pem: SecretSource
    # Requirable variables the environment did not give (a secret's ARN variable counts as given
    # when every value it stands for was given directly).
    unset: frozenset[str]

    @property
    def is_lambda(self) -> bool:
        """Running as a Lambda function: what a module uses must be given, nothing has a default."""
        return self.function_name is not None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> "Settings":
        """Read every setting from `environ` (os.environ, or a dict in tests). In a Lambda function,
        raises ConfigurationError if one of REQUIRED_OF_EVERY_FUNCTION is not set."""

        def given(name: str) -> str | None:
            value = environ.get(name)
            return value if value else None  # set but empty is not set (a template's "" default)

        function_name = given("AWS_LAMBDA_FUNCTION_NAME")
        unset = {name for name in LOCAL_DEFAULTS if given(name) is None}
        if given("FRONTEND_URL_PARAMETER"):  # deployed: the address is read from SSM at run time
            unset.discard("FRONTEND_URL")
        if given("STREAM_BASE_URL"):  # playback URLs point there: no customer code involved
            unset.discard("STREAM_CUSTOMER_CODE")
        # In a Lambda function an unset setting stays empty: require() stops the init of any function using it.
        plain = {name.lower(): given(name) or ("" if function_name else default)
                 for name, default in LOCAL_DEFAULTS.items()}
        plain.update({name.lower(): given(name) or default for name, default in OPTIONAL_DEFAULTS.items()})
        plain["frontend_url"] = plain["frontend_url"].rstrip("/")
        region = given("AWS_REGION") or given("AWS_DEFAULT_REGION")
        if region is None:
            unset.add("AWS_REGION")
        secrets = {name: SecretSource(variable, given(variable) or "", arn_variable, given(arn_variable) or "",
                                      json_field)
                   for name, variable, arn_variable, json_field in SECRETS}
        for _, _, arn_variable, _ in SECRETS:
            values = [given(variable) for _, variable, arn, _ in SECRETS if arn == arn_variable]
            if not given(arn_variable) and not all(values):
                unset.add(arn_variable)
        settings = cls(function_name=function_name, region=region or "us-east-1", **plain,
                       mail_limit_per_address=_whole_number(environ, "MAIL_LIMIT_PER_ADDRESS"),
                       mail_limit_per_client=_whole_number(environ, "MAIL_LIMIT_PER_CLIENT"),
                       frontend_url_from_parameter=not given("FRONTEND_URL") and bool(given("FRONTEND_URL_PARAMETER")),
                       checkout_limit_per_ip=_whole_number(environ, "CHECKOUT_LIMIT_PER_IP"),
                       checkout_limit_per_buyer=_whole_number(environ, "CHECKOUT_LIMIT_PER_BUYER"),
                       **secrets, unset=frozenset(unset))
        settings.require(*REQUIRED_OF_EVERY_FUNCTION)
        return settings

    def require(self, *variables: str) -> "Settings":
        """In a Lambda function, raise ConfigurationError naming each of `variables` not set; elsewhere
        the local defaults stand in. For a secret, name its ARN variable (AUTH_SECRET_ARN)."""
        unknown = sorted(set(variables) - REQUIRABLE)
        if unknown:
            raise ConfigurationError(f"Not a Lectern setting: {', '.join(unknown)}.")
        missing = [name for name in variables if name in self.unset]
        if missing and self.is_lambda:
            # Deployed, the shop's address comes through its SSM parameter's name.
            names = ", ".join("FRONTEND_URL or FRONTEND_URL_PARAMETER" if name == "FRONTEND_URL" else name
                              for name in missing)
            raise ConfigurationError(
                f"{self.function_name} cannot start: {names} {'is' if len(missing) == 1 else 'are'} not set. "
                f"A Lambda function gets no default for a setting it uses; give it in the function's "
                f"Environment in template.yaml (README, Configuration).")
        return self

    def table_name(self, variable: str) -> str:
        """The name of the table whose variable is `variable` (e.g. CATALOG_TABLE)."""
        if not variable.endswith("_TABLE") or variable not in LOCAL_DEFAULTS:
            raise ConfigurationError(f"Not a Lectern table setting: {variable}.")
        return getattr(self, variable.lower())


def _whole_number(environ: Mapping[str, str], name: str) -> int:
    raw = environ.get(name)
    if not raw:
        return MAIL_LIMIT_DEFAULTS[name]
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigurationError(f"{name} must be a whole number >= 0, not {raw!r}.")
    return value


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The settings of this process, read from the environment on first use."""
    return Settings.from_environment(os.environ)


def reset_settings() -> None:
    """Forget the settings read so far: the next `settings()` reads the environment again
    (tests and local tools that change it; a Lambda function never does)."""
    settings.cache_clear()


def require(*variables: str) -> Settings:
    """Fail fast: a module calls this when imported, naming the variables it uses (see Settings.require)."""
    return settings().require(*variables)


# Shortcuts for the settings most modules use.
def region() -> str:
    return settings().region


def frontend_url() -> str:
    """Base of every link Lectern emails or hands to Stripe: the storefront's address.

    Deployed, the stack keeps it in an SSM parameter (FRONTEND_URL_PARAMETER) that it writes once the
    CloudFront distribution exists: a function's environment cannot name the distribution that serves
    it, so the address is read at run time (cached five minutes, like secrets). Locally and in tests
    it is FRONTEND_URL."""
    current = settings()
    if current.frontend_url_from_parameter:
        from aws_lambda_powertools.utilities import parameters  # deployed functions only

        return str(parameters.get_parameter(current.frontend_url_parameter, max_age=300)).rstrip("/")
    return current.frontend_url


def api_same_origin() -> bool:
    """Deployed, the storefront calls the API through its own distribution (/api/*): one origin, no CORS."""
    current = settings()
    return current.frontend_url_from_parameter


def assets_bucket() -> str:
    return settings().assets_bucket
