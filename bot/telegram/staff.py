"""Hotline staff in Telegram: the agents' commands and card buttons, supervisors, admins.

A staff command from anyone without the role gets exactly the answer an unknown command
gets, and the attempt is logged; nothing about cases is revealed.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date

from telegram import Bot, BotCommand, BotCommandScopeChat, InputMediaPhoto, Update
from telegram.error import BadRequest, TelegramError

from bot.cases import cards
from bot.cases.alerts import Alert
from bot.cases.deadlines import CHINA, format_date, local_date
from bot.cases.desk import CaseStillOpen, ClaimResult, NotAssignee, Staff
from bot.cases.handoffs import HandoffBusy
from bot.cases.models import CATEGORIES, Case, normalize_case_number
from bot.cases.roles import ROLE_WORDS, Role, Roles
from bot.cases.store import CaseClosed, CaseNotFound
from bot.insight import warnings
from bot.insight.bulletin import Bulletin, build, last_full_week, week_of
from bot.safety.emergency import LABELS, EmergencyKind
from bot.store.db import utcnow
from bot.store.outbox import Button, Buttons
from bot.telegram import citizen, render, texts
from bot.telegram.context import HotlineContext, Services

log = logging.getLogger(__name__)

PAGE = 10
# Starts a /reply that deliberately takes over another agent's live conversation.
TAKE_OVER = "接管"
STAFF = (Role.AGENT, Role.SUPERVISOR)
_COMMAND = re.compile(r"^/\w+(?:@\w+)?\s*(.*)$", re.DOTALL)

Handler = Callable[[Update, HotlineContext], Awaitable[None]]


@dataclass(frozen=True)
class Command:
    """One staff command: the table below drives its handler, its role check, the menus
    (the agents' group and each staff member's private chat) and its usage text."""

    name: str
    roles: tuple[Role, ...]
    menu: str
    usage: str
    handler: Handler


COMMANDS: dict[str, Command] = {}


def command(name: str, roles: tuple[Role, ...], menu: str,
            usage: str) -> Callable[[Handler], Handler]:
    """Registers a staff command; it runs only for holders of one of `roles`, and anyone
    else sees what an unknown command gets."""
    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(update: Update, context: HotlineContext) -> None:
            user = update.effective_user
            if user is None or not await context.roles.has(user.id, *roles):
                log.warning("refused /%s from user %s (not %s)", name,
                            user.id if user else None, "/".join(roles))
                await update.effective_message.reply_text(texts.UNKNOWN_COMMAND)
                return
            await handler(update, context)
        COMMANDS[name] = Command(name, roles, menu, usage, guarded)
        return guarded
    return decorate


CaseAction = Callable[[HotlineContext, str, Staff, str], Awaitable[str]]


def on_case(name: str, roles: tuple[Role, ...], menu: str, usage: str, *,
                 needs_text: bool = True) -> Callable[[CaseAction], Handler]:
    """A staff command on one case, `/name NT… text`: the decorated function does the work
    and returns the answer; the number, the usage and the store's refusals are handled once."""
    def decorate(act: CaseAction) -> Handler:
        async def handler(update: Update, context: HotlineContext) -> None:
            await run_case_action(update, context, usage, functools.partial(act, context),
                                  needs_text=needs_text)
        handler.__name__ = act.__name__
        return command(name, roles, menu, usage)(handler)
    return decorate


def usage(name: str) -> str:
    return COMMANDS[name].usage


def menu_for(roles: set[Role]) -> list[tuple[str, str]]:
    """(command, description) of every staff command one of `roles` may use."""
    return [(c.name, c.menu) for c in COMMANDS.values() if roles & set(c.roles)]


async def start(update: Update, context: HotlineContext) -> None:
    """/start: staff get their own greeting with the commands their roles allow; everyone
    else the citizens' greeting."""
    user = update.effective_user
    roles = await context.roles.roles_of(user.id) if user else set()
    if not roles:
        await citizen.start(update, context)
        return
    lines = [f"/{name} — {menu}" for name, menu in menu_for(roles)]
    await answer(update, texts.STAFF_START.format(
        roles="、".join(role.label for role in Role if role in roles), commands="\n".join(lines)))


def private_menu(roles: set[Role]) -> list[BotCommand]:
    """A staff member's menu in their private chat: the citizens' commands and theirs."""
    return [BotCommand(name, desc) for name, desc in (*texts.COMMANDS, *menu_for(roles))]


async def set_private_menu(bot: Bot, roles: Roles, user_id: int) -> None:
    """The menu of one person's private chat, after their roles changed (none: the
    citizens' default menu)."""
    held = await roles.roles_of(user_id)
    try:
        if held:
            await bot.set_my_commands(private_menu(held), scope=BotCommandScopeChat(user_id))
        else:
            await bot.delete_my_commands(scope=BotCommandScopeChat(user_id))
    except TelegramError as exc:  # they never opened a chat with the bot: not fatal
        log.info("could not set the menu of user %s: %s", user_id, exc)


async def set_menus(bot: Bot, roles: Roles, agents_chat_id: int | None) -> None:
    """The agents' group menu (the agents' commands) and each staff member's private menu."""
    if agents_chat_id is not None:
        try:
            await bot.set_my_commands(
                [BotCommand(name, desc) for name, desc in menu_for({Role.AGENT})],
                scope=BotCommandScopeChat(agents_chat_id))
        except TelegramError as exc:  # the bot is not in the group yet: not fatal
            log.warning("could not set the agents' group menu: %s", exc)
    members = set().union(*[await roles.members(role) for role in Role])
    for user_id in sorted(members):
        await set_private_menu(bot, roles, user_id)


async def staff_of(update: Update, context: HotlineContext) -> Staff:
    user = update.effective_user
    supervisor = await context.roles.has(user.id, Role.SUPERVISOR)
    return Staff(user.id, user.full_name or str(user.id), supervisor=supervisor)


def arguments(update: Update) -> str:
    match = _COMMAND.match(update.effective_message.text or "")
    return match.group(1).strip() if match else ""


def split_number(rest: str) -> tuple[str | None, str]:
    """The case number at the start of `rest`, and what follows it."""
    head, _, tail = rest.partition(" ")
    number = normalize_case_number(head)
    return number, tail.strip() if number else rest


async def answer(update: Update, text: str) -> None:
    await update.effective_message.reply_text(text)


def today() -> date:
    return local_date(utcnow())


async def run_case_action(update: Update, context: HotlineContext, usage: str,
                          action: Callable[[str, Staff, str], Awaitable[str]],
                          needs_text: bool = True) -> None:
    """Parses `NT… text`, runs `action`, and turns the store's refusals into plain answers."""
    number, rest = split_number(arguments(update))
    if number is None or (needs_text and not rest):
        await answer(update, usage)
        return
    staff = await staff_of(update, context)
    try:
        reply = await action(number, staff, rest)
    except CaseNotFound:
        reply = texts.STAFF_NOT_FOUND.format(number=number)
    except CaseClosed:
        reply = texts.STAFF_CLOSED.format(number=number)
    except NotAssignee as exc:
        reply = texts.STAFF_NOT_YOURS.format(number=number, holder=exc.case.assignee_name)
    except CaseStillOpen:
        reply = texts.STAFF_STILL_OPEN.format(number=number)
    context.bot_data.delivery.wake()
    await answer(update, reply)


# ---- listings -------------------------------------------------------------------------

def queue_page(cases: list[Case], total: int, offset: int) -> tuple[str, Buttons]:
    if not cases:
        return "当前没有待办案件。", []
    lines = [f"待办案件（共 {total} 件，按期限排序，第 {offset + 1}–{offset + len(cases)} 件）："]
    lines += [cards.queue_line(case, today()) for case in cases]
    buttons: Buttons = []
    if offset + len(cases) < total:
        buttons = [[Button("下一页", render.PAGE, str(offset + PAGE))]]
    return "\n".join(lines), buttons


@command("queue", STAFF, "待办案件（按期限）",
         "用法：/queue [页码]")
async def queue_command(update: Update, context: HotlineContext) -> None:
    """/queue [页码]: open cases by deadline, overdue marked, ten a page."""
    try:
        page = max(int(arguments(update) or 1), 1)
    except ValueError:
        page = 1
    await send_queue(update, context, (page - 1) * PAGE)


async def send_queue(update: Update, context: HotlineContext, offset: int) -> None:
    cases, total = await context.bot_data.reports.queue(offset, PAGE)
    text, buttons = queue_page(cases, total, offset)
    await update.effective_chat.send_message(text, reply_markup=render.markup(buttons))


@command("mine", STAFF, "我认领的案件",
         "用法：/mine")
async def mine_command(update: Update, context: HotlineContext) -> None:
    """/mine: the open cases I hold."""
    cases = await context.bot_data.reports.mine(update.effective_user.id)
    if not cases:
        await answer(update, "您名下没有待办案件。")
        return
    await answer(update, "我的待办：\n" + "\n".join(cards.queue_line(c, today()) for c in cases))


async def case_detail(context: HotlineContext, number: str, viewer: int, private: bool) -> str:
    try:
        case = await context.cases.case_by_number(number)
    except CaseNotFound:
        return texts.STAFF_NOT_FOUND.format(number=number)
    events = await context.cases.events(case.id)
    # The whole phone number only for the case's own agent, and never in a group.
    whole = private and case.assignee_id == viewer
    return cards.detail(case, events, today(), whole_phone=whole)


@command("case", STAFF, "案件详情：/case 编号",
         "用法：/case 案件编号")
async def case_command(update: Update, context: HotlineContext) -> None:
    """/case NT…: the case with its history."""
    number, _ = split_number(arguments(update))
    if number is None:
        await answer(update, usage("case"))
        return
    await answer(update, await case_detail(context, number, update.effective_user.id,
                                           update.effective_chat.type == "private"))


# ---- changes --------------------------------------------------------------------------

def claim_text(result: ClaimResult) -> str:
    if result.won:
        return f"已认领 {result.case.number}，期限 {format_date(result.case.deadline)}。"
    return texts.STAFF_NOT_YOURS.format(number=result.case.number,
                                        holder=result.case.assignee_name)


@on_case("claim", STAFF, "认领：/claim 编号",
         "用法：/claim 案件编号", needs_text=False)
async def claim_command(context: HotlineContext, number: str, staff: Staff, _: str) -> str:
    return claim_text(await context.desk.claim(number, staff))


@on_case("reply", STAFF, "答复市民：/reply 编号 内容",
         "用法：/reply 案件编号 回复内容（会发给市民；接管别人的人工对话：/reply 案件编号 接管 内容）")
async def reply_command(context: HotlineContext, number: str, staff: Staff, text: str) -> str:
    take_over = text.startswith(TAKE_OVER)
    text = text.removeprefix(TAKE_OVER).strip() if take_over else text
    if not text:
        return usage("reply")
    try:
        await context.desk.reply(number, staff, text, take_over=take_over)
    except HandoffBusy as busy:
        return texts.HANDOFF_BUSY.format(agent=f"市民{busy.agent_id}", other=busy.number,
                                         number=number)
    return f"已发送给 {number} 的市民。市民的回复会转给您，结束对话用 /release {number}。"


@on_case("note", STAFF, "内部备注：/note 编号 内容",
         "用法：/note 案件编号 备注内容（仅内部可见）")
async def note_command(context: HotlineContext, number: str, staff: Staff, text: str) -> str:
    await context.desk.note(number, staff, text)
    return f"已为 {number} 添加内部备注（市民看不到）。"


@on_case("transfer", STAFF, "转办：/transfer 编号 部门 理由",
         "用法：/transfer 案件编号 部门 转办理由，例如 /transfer NT202611280001 住建 属于物业维修")
async def transfer_command(context: HotlineContext, number: str, staff: Staff, rest: str) -> str:
    name, _, reason = rest.partition(" ")
    department = context.bot_data.departments.find(name)
    if department is None:
        known = "、".join(d.short for d in context.bot_data.departments.departments.values())
        return f"没有找到部门「{name}」。可选：{known}"
    await context.desk.transfer(number, staff, department.name, reason.strip() or "按职责转办")
    return f"{number} 已转办至 {department.name}。"


async def set_category(context: HotlineContext, number: str, staff: Staff,
                       category: str) -> str:
    """The agent's choice of category; the department follows it unless a transfer chose."""
    case = await context.cases.case_by_number(number)
    department = context.bot_data.departments.route(category, case.description,
                                                    district=case.district)
    case = await context.desk.categorize(number, staff, category,
                                         department.name if department else None)
    return f"{number} 分类：{case.category}｜部门：{case.department or '待定'}（{staff.name} 确定）"


@on_case("category", STAFF, "确定或更正分类：/category 编号 分类",
         "用法：/category 案件编号 分类，例如 /category NT202611280001 城乡建设。可选："
         + "、".join(CATEGORIES))
async def category_command(context: HotlineContext, number: str, staff: Staff, rest: str) -> str:
    name = rest.strip()
    category = name if name in CATEGORIES else next((c for c in CATEGORIES if name and name in c),
                                                    None)
    if category is None:
        return f"没有分类「{name}」。可选：{'、'.join(CATEGORIES)}"
    return await set_category(context, number, staff, category)


@on_case("return", STAFF, "退单：/return 编号 理由",
         "用法：/return 案件编号 退单理由")
async def return_command(context: HotlineContext, number: str, staff: Staff, reason: str) -> str:
    await context.desk.return_case(number, staff, reason)
    return f"{number} 已退单，原因已记录，请重新派单。"


@on_case("resolve", STAFF, "办结：/resolve 编号 结果",
         "用法：/resolve 案件编号 办理结果（会发给市民）")
async def resolve_command(context: HotlineContext, number: str, staff: Staff, text: str) -> str:
    await context.desk.resolve(number, staff, text)
    return f"{number} 已办结，办理结果和满意度回访已发给市民。"


@on_case("reopen", STAFF, "重办：/reopen 编号 [理由]",
         "用法：/reopen 案件编号 [理由]", needs_text=False)
async def reopen_command(context: HotlineContext, number: str, staff: Staff, reason: str) -> str:
    case = await context.desk.reopen(number, staff, reason)
    return f"{number} 已重办，新期限 {format_date(case.deadline)}。"


@command("release", STAFF, "结束人工对话：/release [编号]",
         "用法：/release [案件编号]")
async def release_command(update: Update, context: HotlineContext) -> None:
    """/release [NT…]: hands my live conversations (or that one) back to the bot."""
    number, _ = split_number(arguments(update))
    released = await context.bot_data.handoffs.release(update.effective_user.id, number)
    context.bot_data.delivery.wake()
    if not released:
        await answer(update, "您当前没有进行中的人工对话。")
        return
    await answer(update, "已结束对话：" + "、".join(c.number for c in released))


_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})$")


@on_case("supervise", (Role.SUPERVISOR,), "督办：/supervise 编号 意见 [新期限]",
         "用法：/supervise 案件编号 督办意见 [新期限 2026-12-31]")
async def supervise_command(context: HotlineContext, number: str, staff: Staff, rest: str) -> str:
    """/supervise NT… 意见 [YYYY-MM-DD]: 督办, optionally with a new deadline."""
    new_deadline = None
    match = _DATE.search(rest)
    if match:
        try:
            new_deadline = date(*map(int, match.groups()))
        except ValueError:
            return "新期限的日期不对，格式是 2026-12-31。"
        rest = rest[: match.start()].strip() or "请按新期限办结"
    await context.desk.supervise(number, staff, rest, new_deadline)
    return f"已督办 {number}，认领人会收到通知。"


@command("stats", (Role.SUPERVISOR, Role.ADMIN), "热线数据：按期办结率、满意率",
         "用法：/stats")
async def stats_command(update: Update, context: HotlineContext) -> None:
    """/stats: on-time completion and satisfaction, the hotline's figures."""
    f = await context.bot_data.reports.stats()

    def rate(value: float | None) -> str:
        return "暂无" if value is None else f"{value:.1%}"

    await answer(update, (
        f"受理 {f['filed']} 件，办结 {f['resolved']} 件，在办 {f['open']} 件（超期 {f['overdue']}）。\n"
        f"按期办结率：{rate(f['on_time_rate'])}\n"
        f"满意率：{rate(f['satisfaction_rate'])}（有效回访 {f['answered']} 件，"
        f"未联系上 {f['not_reached']} 件，待回访 {f['pending']} 件）"))


@command("emergencies", (Role.SUPERVISOR, Role.ADMIN), "紧急情况记录：/emergencies [near]",
         "用法：/emergencies [near]（near：只看未提示的疑似信号）")
async def emergencies_command(update: Update, context: HotlineContext) -> None:
    """/emergencies [near]: the last emergencies answered, or the near misses to review."""
    rest = arguments(update).strip().lower()
    if rest not in ("", "near"):
        await answer(update, usage("emergencies"))
        return
    levels = ("near_miss",) if rest == "near" else ("emergency", "doubt")
    records = await context.bot_data.emergencies.latest(levels)
    if not records:
        await answer(update, texts.EMERGENCIES_NONE)
        return
    title = "待复核的未提示信号" if rest == "near" else "已提示报警电话"
    lines = [texts.EMERGENCIES_HEAD.format(title=title)]
    for r in records:
        at = r.at.astimezone(CHINA).strftime("%m-%d %H:%M")
        kind = LABELS.get(EmergencyKind(r.kind), r.kind) if r.kind else "—"
        lines.append(f"{at} {texts.EMERGENCY_LEVELS.get(r.level, r.level)} · {kind}"
                     f"{' · 人工对话中' if r.during == 'handoff' else ''} · 市民 {r.citizen_id}\n"
                     f"  {r.text[:120]}")
    await answer(update, "\n".join(lines))


async def make_bulletin(services: Services, day: date | None = None) -> Bulletin:
    """The bulletin of the week (Monday to Sunday, China) holding `day`, or of the last
    full week; its files go under the data folder."""
    start, end = week_of(day) if day else last_full_week(utcnow())
    return await build(services.db, start, end, services.settings.data_dir / "bulletin")


async def send_bulletin(bot: Bot, chat_id: int, bulletin: Bulletin) -> None:
    """The bulletin's charts as one album, the short caption on the first."""
    await bot.send_media_group(chat_id, [
        InputMediaPhoto(path.read_bytes(), filename=path.name,
                        caption=bulletin.caption if i == 0 else None)
        for i, path in enumerate(bulletin.charts)])


@command("bulletin", (Role.SUPERVISOR, Role.ADMIN), "周报图表：/bulletin [日期]",
         "用法：/bulletin [2026-11-30]（该日所在的一周；不写则为上一个完整周）")
async def bulletin_command(update: Update, context: HotlineContext) -> None:
    """/bulletin [YYYY-MM-DD]: the week's bulletin, its charts with a short caption."""
    rest = arguments(update)
    try:
        day = date.fromisoformat(rest) if rest else None
    except ValueError:
        await answer(update, usage("bulletin"))
        return
    bulletin = await make_bulletin(context.bot_data, day)
    await send_bulletin(context.bot, update.effective_chat.id, bulletin)


def alert_line(alert: Alert) -> str:
    when = alert.raised_at.astimezone(CHINA).strftime("%m-%d %H:%M")
    seen = "" if alert.acked_by is None else f"｜已确认（{alert.acked_by}）"
    return f"#{alert.id} {when}【{alert.kind.label}】{alert.summary}{seen}"


@command("alerts", (Role.SUPERVISOR, Role.ADMIN), "未确认的预警：敏感件、重复诉求、热点",
         "用法：/alerts")
async def alerts_command(update: Update, context: HotlineContext) -> None:
    """/alerts: the newest early warnings nobody has acknowledged."""
    pending = await warnings.unacknowledged(context.bot_data.db)
    if not pending:
        await answer(update, "没有未确认的预警。")
        return
    await answer(update, "未确认的预警（/ack 编号 确认）：\n"
                 + "\n".join(alert_line(a) for a in pending))


@command("ack", (Role.SUPERVISOR,), "确认预警：/ack 预警编号",
         "用法：/ack 预警编号（预警消息末尾的数字）")
async def ack_command(update: Update, context: HotlineContext) -> None:
    """/ack 编号: the supervisor has seen the alert and takes it up."""
    raw = arguments(update).strip().lstrip("#")
    if not raw.isdigit():
        await answer(update, usage("ack"))
        return
    try:
        alert, newly = await warnings.acknowledge(context.bot_data.db, int(raw),
                                                  update.effective_user.id)
    except warnings.AlertNotFound:
        await answer(update, f"没有编号为 {raw} 的预警。")
        return
    if newly:
        await answer(update, f"已确认预警 #{alert.id}【{alert.kind.label}】，已记入相关案件的办理记录。")
    else:
        await answer(update, f"预警 #{alert.id} 已由 {alert.acked_by} 于 "
                     f"{alert.acked_at.astimezone(CHINA).strftime('%m-%d %H:%M')} 确认过。")


async def _role_change(update: Update, context: HotlineContext, grant: bool) -> None:
    parts = arguments(update).split()
    role = ROLE_WORDS.get(parts[1].lower()) if len(parts) == 2 else None
    if role is None or not parts[0].lstrip("-").isdigit():
        await answer(update, usage("grant" if grant else "revoke"))
        return
    user_id, by = int(parts[0]), update.effective_user.id
    if grant:
        new = await context.roles.grant(user_id, role, by)
        await answer(update, f"已授予 {user_id} {role.label}权限。" if new
                     else f"{user_id} 已经是{role.label}。")
    else:
        removed = await context.roles.revoke(user_id, role, by)
        await answer(update, f"已收回 {user_id} 的{role.label}权限。" if removed else
                     f"{user_id} 没有通过命令授予的{role.label}权限（配置文件中的权限需改配置）。")
    await set_private_menu(context.bot, context.roles, user_id)


@command("grant", (Role.ADMIN,), "授权：/grant 用户ID 角色",
         "用法：/grant 用户ID agent|supervisor|admin")
async def grant_command(update: Update, context: HotlineContext) -> None:
    """/grant 用户ID agent|supervisor|admin"""
    await _role_change(update, context, grant=True)


@command("revoke", (Role.ADMIN,), "收回权限：/revoke 用户ID 角色",
         "用法：/revoke 用户ID agent|supervisor|admin")
async def revoke_command(update: Update, context: HotlineContext) -> None:
    """/revoke 用户ID agent|supervisor|admin"""
    await _role_change(update, context, grant=False)


# ---- card buttons ---------------------------------------------------------------------

STAFF_TARGET = re.compile(r"^([A-Z0-9]{1,20})(?::([a-z_]{1,32}))?$")


async def staff_button(update: Update, context: HotlineContext) -> None:
    """认领 / 转办 / 详情 on a card, department choice, next queue page."""
    query = update.callback_query
    pressed = render.parse(query.data)
    match = STAFF_TARGET.match(pressed[1]) if pressed else None
    if match is None or not await context.roles.has(query.from_user.id, *STAFF):
        if match is not None:
            log.warning("refused a staff button from user %s", query.from_user.id)
        await query.answer(texts.BUTTON_STALE)
        return
    verb, (number, extra) = pressed[0], match.groups()
    staff = await staff_of(update, context)
    chat = update.effective_chat
    if verb == render.PAGE:
        await query.answer()
        await send_queue(update, context, int(number) if number.isdigit() else 0)
        return
    if verb == cards.DETAIL:
        await query.answer()
        await chat.send_message(await case_detail(context, number, staff.user_id,
                                                  chat.type == "private"))
        return
    try:
        if verb == cards.CLAIM:
            result = await context.desk.claim(number, staff)
            await query.answer(claim_text(result)[:200])
            if result.won:
                await _edit(query, f"{query.message.text}\n——\n认领人：{staff.name}",
                            [[Button("转办", cards.TRANSFER, number),
                              Button("详情", cards.DETAIL, number)]])
            return
        if verb == cards.CATEGORY:
            case = await context.cases.case_by_number(number)
            place = cards.PLACES.index(extra) if extra in cards.PLACES else len(cards.PLACES)
            if place >= len(case.suggestions):
                await query.answer(texts.BUTTON_STALE)
                return
            said = await set_category(context, number, staff, case.suggestions[place])
            await query.answer(said[:200])
            await chat.send_message(said)
            return
        if verb == cards.TRANSFER:
            await query.answer()
            rows = [[Button(d.short, render.TRANSFER_TO, f"{number}:{d.id}") for d in group]
                    for group in _chunks(list(context.bot_data.departments.departments.values()), 3)]
            await chat.send_message(f"把 {number} 转办给哪个部门？", reply_markup=render.markup(rows))
            return
        department = context.bot_data.departments.departments.get(extra or "")
        if department is None:
            await query.answer(texts.BUTTON_STALE)
            return
        await context.desk.transfer(number, staff, department.name, "按职责转办")
        context.bot_data.delivery.wake()
        await query.answer(f"已转办至 {department.short}")
        await _edit(query, f"{number} 已由 {staff.name} 转办至 {department.name}。", [])
    except CaseNotFound:
        await query.answer(texts.STAFF_NOT_FOUND.format(number=number)[:200])
    except CaseClosed:
        await query.answer(texts.STAFF_CLOSED.format(number=number)[:200])
    except NotAssignee as exc:
        await query.answer(texts.STAFF_NOT_YOURS.format(
            number=number, holder=exc.case.assignee_name)[:200])


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


async def _edit(query, text: str, buttons: Buttons) -> None:
    try:
        await query.edit_message_text(text[:4096], reply_markup=render.markup(buttons))
    except BadRequest as exc:  # the message is too old to edit, or unchanged
        log.info("could not edit a card: %s", exc)
