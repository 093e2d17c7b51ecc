"""Plain HTML stand-ins for Stripe's hosted checkout page and dashboard.

Both work for a person in a browser and for a test posting a form: every
button is a <button name="action" value="..."> inside a POST form.
"""

from __future__ import annotations

import time
from typing import Callable
from urllib.parse import quote

from flask import Flask, Response, redirect, request
from markupsafe import Markup

from .account import Account
from .errors import ApiError

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a1a; }
table { border-collapse: collapse; width: 100%; margin-bottom: 1.5rem; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #ddd; vertical-align: top; }
form { display: inline-block; margin: 0 .25rem .25rem 0; }
button { padding: .3rem .7rem; cursor: pointer; }
.notice { padding: .6rem 1rem; background: #fff4d6; border: 1px solid #e0c060; margin-bottom: 1rem; }
.error { background: #fde2e2; border-color: #d08080; }
.test-mode { background: #635bff; color: white; padding: .2rem .5rem; font-size: .8rem; border-radius: 4px; }
code { font-size: .85rem; }
"""


def _page(title: str, body: Markup, status: int = 200) -> Response:
    html = Markup(
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<link rel='icon' href='data:,'>"  # else the browser asks for /favicon.ico: a 404 in its console
        "<title>{title}</title><style>{style}</style></head>"
        "<body><p><span class='test-mode'>TEST MODE</span> Lectern Stripe emulator</p>{body}</body></html>"
    ).format(title=title, style=Markup(_STYLE), body=body)
    return Response(str(html), status=status, mimetype="text/html")


def _money(amount: int | None, currency: str | None) -> str:
    if amount is None:
        return "-"
    return f"{amount / 100:,.2f} {(currency or '').upper()}"


def _when(timestamp: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def _notice(message: str | None, *, error: bool = False) -> Markup:
    if not message:
        return Markup("")
    css = "notice error" if error else "notice"
    return Markup("<p class='{css}' role='{role}'>{message}</p>").format(
        css=css, role="alert" if error else "status", message=message
    )


def _button_form(action_url: str, action: str, label: str, hidden: dict | None = None, extra: Markup = Markup("")) -> Markup:
    fields = Markup("").join(
        Markup("<input type='hidden' name='{name}' value='{value}'>").format(name=name, value=value)
        for name, value in (hidden or {}).items()
    )
    return Markup(
        "<form method='post' action='{url}'>{fields}{extra}<button type='submit' name='action' value='{action}'>{label}</button></form>"
    ).format(url=action_url, fields=fields, extra=extra, action=action, label=label)


def _fill_session_id(url: str, session_id: str) -> str:
    return url.replace("{CHECKOUT_SESSION_ID}", session_id)


# ----------------------------------------------------------------- checkout


def _checkout_page(account: Account, session_id: str, message: str | None = None, status: int = 200) -> Response:
    try:
        session = account.engine.get("checkout.session", session_id)
        items = account.engine.line_items(session_id)
    except ApiError:
        return _page("Checkout not found", _notice(f"No such checkout session: {session_id}", error=True), 404)

    currency = session["currency"]
    rows = Markup("").join(
        Markup("<tr><td>{name}</td><td>{qty}</td><td>{unit}</td><td>{total}</td></tr>").format(
            name=item["description"] or item["price"]["id"],
            qty=item["quantity"],
            unit=_money(item["price"]["unit_amount"], currency),
            total=_money(item["amount_subtotal"], currency),
        )
        for item in items
    )
    discount = session["total_details"]["amount_discount"]
    promo_label = ""
    if session["discounts"] and session["discounts"][0]["promotion_code"]:
        promo = account.engine.get("promotion_code", session["discounts"][0]["promotion_code"])
        promo_label = f" (code {promo['code']})"
    summary = Markup(
        "<table aria-label='Order summary'><thead><tr><th scope='col'>Item</th><th scope='col'>Quantity</th>"
        "<th scope='col'>Unit price</th><th scope='col'>Amount</th></tr></thead><tbody>{rows}</tbody></table>"
        "<dl><dt>Subtotal</dt><dd id='subtotal'>{subtotal}</dd>"
        "<dt>Discount{promo_label}</dt><dd id='discount'>-{discount}</dd>"
        "<dt><strong>Total due</strong></dt><dd id='total'><strong>{total}</strong></dd></dl>"
    ).format(
        rows=rows,
        subtotal=_money(session["amount_subtotal"], currency),
        promo_label=promo_label,
        discount=_money(discount, currency),
        total=_money(session["amount_total"], currency),
    )
    url = f"/pay/{session_id}"

    if session["status"] != "open":
        closed = {
            "expired": "This checkout session has expired. Return to the shop to start again.",
            "complete": f"This checkout session is complete (payment status: {session['payment_status']}).",
        }.get(session["status"], f"This checkout session is {session['status']}.")
        body = Markup("<h1>Checkout</h1>{notice}{summary}").format(notice=_notice(closed), summary=summary)
        return _page("Checkout closed", body, status)

    if session["customer_email"]:
        email_field = Markup("<p>Paying as <strong id='email'>{email}</strong></p>").format(email=session["customer_email"])
    else:
        email_field = Markup(
            "<p><label for='email'>Email</label> <input id='email' name='email' type='email' "
            "autocomplete='email' value='buyer@example.com' required></p>"
        )
    pay_form = Markup(
        "<form method='post' action='{url}' aria-label='Payment'>{email_field}"
        "<p><button type='submit' name='action' value='pay'>Pay {total} with test card 4242</button> "
        "<button type='submit' name='action' value='pay_delayed'>Pay with bank debit (settles later)</button></p>"
        "</form>"
    ).format(url=url, email_field=email_field, total=_money(session["amount_total"], currency))
    cancel_form = _button_form(url, "cancel", "Cancel and return to the shop")
    promo_form = Markup("")
    if session["allow_promotion_codes"]:
        promo_form = Markup(
            "<form method='post' action='{url}' aria-label='Promotion code'>"
            "<label for='promotion_code'>Promotion code</label> "
            "<input id='promotion_code' name='promotion_code' autocomplete='off'> "
            "<button type='submit' name='action' value='apply_promotion_code'>Apply</button></form>"
        ).format(url=url)
    body = Markup("<h1>Checkout</h1>{notice}{summary}{promo}{pay}<p>{cancel}</p>").format(
        notice=_notice(message, error=bool(message)), summary=summary, promo=promo_form, pay=pay_form, cancel=cancel_form
    )
    return _page("Checkout", body, status)


def _handle_checkout_post(account: Account, session_id: str) -> Response:
    try:
        session = account.engine.get("checkout.session", session_id)
    except ApiError:
        return _page("Checkout not found", _notice(f"No such checkout session: {session_id}", error=True), 404)
    action = request.form.get("action", "")
    page_url = f"/pay/{session_id}"
    promotion_code = request.form.get("promotion_code", "").strip() or None
    try:
        if action in ("pay", "pay_delayed"):
            account.pay(
                session_id,
                delayed=action == "pay_delayed",
                email=request.form.get("email", "").strip() or None,
                promotion_code=promotion_code,
            )
            return redirect(_fill_session_id(session["success_url"] or page_url, session_id), 303)
        if action == "cancel":
            # Leaving the page changes nothing: the session stays open.
            return redirect(_fill_session_id(session["cancel_url"] or page_url, session_id), 303)
        if action == "apply_promotion_code":
            if not promotion_code:
                raise ApiError.invalid("Enter a promotion code.", param="promotion_code")
            account.engine.apply_promotion_code(session_id, promotion_code)
            return redirect(page_url, 303)
    except ApiError as error:
        return _checkout_page(account, session_id, error.message, 400)
    return _checkout_page(account, session_id, f"Unknown action: {action!r}", 400)


# ---------------------------------------------------------------- dashboard


def _dashboard(account: Account) -> Response:
    engine = account.engine
    action_url = "/dashboard/action"

    def table(label: str, headers: list[str], rows: list[Markup]) -> Markup:
        head = Markup("").join(Markup("<th scope='col'>{h}</th>").format(h=h) for h in headers)
        if not rows:
            rows = [Markup("<tr><td colspan='{n}'>None yet.</td></tr>").format(n=len(headers))]
        return Markup("<h2>{label}</h2><table aria-label='{label}'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>").format(
            label=label, head=head, rows=Markup("").join(rows)
        )

    def row(*cells: object) -> Markup:
        return Markup("<tr>{}</tr>").format(Markup("").join(Markup("<td>{}</td>").format(c) for c in cells))

    intents = {pi["id"]: pi for pi in engine.list("payment_intent")}
    session_rows = []
    for s in engine.list("checkout.session"):
        actions = Markup("")
        if s["status"] == "open":
            actions = Markup("<a href='/pay/{id}'>Payment page</a> ").format(id=s["id"]) + _button_form(
                action_url, "expire", "Expire", {"id": s["id"]}
            )
        elif intents.get(s["payment_intent"] or "", {}).get("status") == "processing":
            actions = _button_form(action_url, "settle_succeed", "Settle: succeed", {"id": s["id"]}) + _button_form(
                action_url, "settle_fail", "Settle: fail", {"id": s["id"]}
            )
        session_rows.append(
            row(
                Markup("<code>{}</code>").format(s["id"]),
                _when(s["created"]),
                s["status"],
                s["payment_status"],
                _money(s["amount_total"], s["currency"]),
                (s["customer_details"] or {}).get("email") or s["customer_email"] or "-",
                s["client_reference_id"] or "-",
                actions,
            )
        )

    intent_rows = [
        row(Markup("<code>{}</code>").format(pi["id"]), pi["status"], _money(pi["amount"], pi["currency"]), pi["latest_charge"] or "-")
        for pi in intents.values()
    ]

    charge_rows = []
    for ch in engine.list("charge"):
        actions = Markup("")
        if ch["amount_refunded"] < ch["amount"]:
            amount_field = Markup(
                "<label for='amount-{id}'>Amount (minor units, blank = full)</label> "
                "<input id='amount-{id}' name='amount' inputmode='numeric' size='8'> "
            ).format(id=ch["id"])
            actions += _button_form(action_url, "refund", "Refund", {"id": ch["id"]}, amount_field)
        if not ch["disputed"]:
            actions += _button_form(action_url, "dispute", "Open dispute", {"id": ch["id"]})
        charge_rows.append(
            row(
                Markup("<code>{}</code>").format(ch["id"]),
                _money(ch["amount"], ch["currency"]),
                _money(ch["amount_refunded"], ch["currency"]),
                "yes" if ch["disputed"] else "no",
                ch["billing_details"]["email"] or "-",
                actions,
            )
        )

    dispute_rows = []
    for dp in engine.list("dispute"):
        actions = Markup("")
        if dp["status"] in ("needs_response", "under_review", "warning_needs_response", "warning_under_review"):
            actions = _button_form(action_url, "dispute_won", "Close: won", {"id": dp["id"]}) + _button_form(
                action_url, "dispute_lost", "Close: lost", {"id": dp["id"]}
            )
        dispute_rows.append(
            row(Markup("<code>{}</code>").format(dp["id"]), dp["charge"], dp["status"], _money(dp["amount"], dp["currency"]), actions)
        )

    event_rows = []
    for ev in engine.list("event")[:100]:
        delivered = account.delivery_succeeded(ev)
        state = {True: "delivered", False: "not delivered", None: "not subscribed"}[delivered]
        event_rows.append(
            row(
                Markup("<code>{}</code>").format(ev["id"]),
                ev["type"],
                _when(ev["created"]),
                state,
                _button_form(action_url, "redeliver", "Resend", {"id": ev["id"]}),
            )
        )

    header = Markup(
        "<h1>Dashboard</h1>{notice}<p>Webhook endpoint: <code>{url}</code> (auto-deliver: {auto})</p><p>{deliver}</p>"
    ).format(
        notice=_notice(request.args.get("message"), error=request.args.get("error") == "1"),
        url=account.webhook_url or "none configured",
        auto="on" if account.auto_deliver else "off",
        deliver=_button_form(action_url, "deliver_pending", "Deliver all undelivered events", {"id": ""}),
    )
    body = (
        header
        + table("Checkout sessions", ["Id", "Created", "Status", "Payment", "Total", "Email", "Reference", "Actions"], session_rows)
        + table("Payment intents", ["Id", "Status", "Amount", "Latest charge"], intent_rows)
        + table("Charges", ["Id", "Amount", "Refunded", "Disputed", "Email", "Actions"], charge_rows)
        + table("Disputes", ["Id", "Charge", "Status", "Amount", "Actions"], dispute_rows)
        + table("Events (newest first)", ["Id", "Type", "Created", "Webhook", "Actions"], event_rows)
    )
    return _page("Stripe emulator dashboard", body)


def _dashboard_actions(account: Account) -> dict[str, Callable[[str, str], str]]:
    """action name -> handler(id, amount) returning a confirmation message."""

    def refund(object_id: str, amount: str) -> str:
        refund = account.refund(object_id, int(amount) if amount else None)
        return f"Refunded {_money(refund['amount'], refund['currency'])} ({refund['id']})."

    def deliver_pending(object_id: str, amount: str) -> str:
        return f"Queued {account.deliver_pending()} event(s) for delivery."

    def redeliver(object_id: str, amount: str) -> str:
        account.redeliver(object_id)  # on the worker: never block this request
        return f"Queued {object_id} for delivery."

    return {
        "expire": lambda i, a: f"Expired {account.expire(i)['id']}.",
        "settle_succeed": lambda i, a: f"Settled {account.settle_delayed(i, succeed=True)['id']}: paid.",
        "settle_fail": lambda i, a: f"Settled {account.settle_delayed(i, succeed=False)['id']}: failed.",
        "refund": refund,
        "dispute": lambda i, a: f"Opened dispute {account.dispute(i)['id']}.",
        "dispute_won": lambda i, a: f"Dispute {account.close_dispute(i, won=True)['id']} won.",
        "dispute_lost": lambda i, a: f"Dispute {account.close_dispute(i, won=False)['id']} lost.",
        "redeliver": redeliver,
        "deliver_pending": deliver_pending,
    }


def register(app: Flask, account: Account) -> None:
    actions = _dashboard_actions(account)

    @app.get("/")
    def home():
        return redirect("/dashboard", 302)

    @app.get("/pay/<session_id>")
    def checkout_page(session_id: str):
        return _checkout_page(account, session_id)

    @app.post("/pay/<session_id>")
    def checkout_submit(session_id: str):
        return _handle_checkout_post(account, session_id)

    @app.get("/dashboard")
    def dashboard():
        return _dashboard(account)

    @app.post("/dashboard/action")
    def dashboard_action():
        action = request.form.get("action", "")
        object_id = request.form.get("id", "").strip()
        amount = request.form.get("amount", "").strip()
        handler = actions.get(action)
        failed = False
        if handler is None:
            message, failed = f"Unknown action: {action!r}", True
        else:
            try:
                if amount and not amount.isdigit():
                    raise ApiError.invalid("The amount must be a whole number of minor units (e.g. cents).")
                message = handler(object_id, amount)
            except ApiError as error:
                message, failed = error.message, True
        return redirect(f"/dashboard?message={quote(message)}&error={int(failed)}", 303)
