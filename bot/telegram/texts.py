"""What the bot itself says (Rasa's replies live in domain.yml)."""

HOTLINE = "12345"

START = (
    "您好！这里是12345政务服务便民热线的网上服务。\n\n"
    "我可以：\n"
    "• 解答医保、社保养老、公积金、工伤、失业、生育、户籍和居住证、社会救助、个税、就业创业等常见政策问题；\n"
    "• 登记您的投诉、求助、建议或举报，给您一个案件编号，由工作人员跟进办理；\n"
    "• 查询您反映过的事项的办理进度（发送「查询 案件编号」或 /mycases）。\n\n"
    "直接用文字把问题发给我就行，说得口语一些也没关系。\n"
    "需要人工服务，请拨打 12345（24小时）。遇到火灾、治安、急病等紧急情况，请立即拨打 119、110、120。"
)

HELP = (
    "使用方法：\n"
    "• 直接发送您的问题，例如「异地就医怎么备案」「公积金租房怎么提取」；\n"
    "• 要反映问题，直接说明情况，例如「我要投诉小区噪音扰民」；\n"
    "• 点击消息下方的按钮即可选择，不用打字；\n"
    "• /mycases 查看我反映过的事项，/status 案件编号 查询进度；\n"
    "• /cancel 取消正在填写的内容；/start 回到开始。\n\n"
    "人工服务请拨打 12345。"
)

APOLOGY = (
    "抱歉，系统暂时无法处理您的消息，请稍后再试。\n"
    "如有急事，请直接拨打 12345 热线，我们24小时有人接听。"
)

ERROR = (
    "抱歉，处理您的消息时出了点问题，我们已经记录下来。请稍后再试，"
    "或直接拨打 12345 热线。"
)

UNSUPPORTED_MEDIA = (
    "抱歉，我目前只能看懂文字和照片，听不了语音、也看不懂表情和位置。请用文字描述您的问题；"
    "如需反映问题并提供照片，请先用文字说明情况，登记时我会请您上传照片。"
)

TOO_LONG = (
    "您的消息太长了（超过 {limit} 字）。请概括主要内容后再发送，"
    "或分成几条发给我。"
)

EMPTY = "没有收到文字内容，请用文字描述您的问题。"

UNKNOWN_COMMAND = "没有这个命令。可用的命令请看 /help，也可以直接用文字提问。"

SLOW_DOWN = (
    "您发消息太快了，刚才的消息没有处理。请稍等一分钟再发；"
    "如有急事，请直接拨打 12345 热线。"
)

BUTTON_USED = "这个选项已经提交过了，不用重复点击。"

BUTTON_STALE = "这个按钮已失效，请重新发送您的问题。"

# ---- staff ----------------------------------------------------------------------------

STAFF_NOT_FOUND = "没有找到案件 {number}。"
STAFF_CLOSED = "案件 {number} 已办结或已撤回，不能再这样操作（需要时先 /reopen）。"
STAFF_NOT_YOURS = "案件 {number} 已由 {holder} 认领，请联系认领人或督办员。"
HANDOFF_RECEIPT = "已转给工作人员（案件 {number}），请稍候，工作人员会在这里回复您。"
HANDOFF_BUSY = ("这位市民正在与 {agent} 就案件 {other} 人工对话，消息没有发送。"
                "请先与对方协调（对方 /release 后再回复），确需接管请用：/reply {number} 接管 内容")
STAFF_STILL_OPEN = "案件 {number} 还没有办结，不需要重办。"

USAGE = {
    "case": "用法：/case 案件编号",
    "claim": "用法：/claim 案件编号",
    "reply": "用法：/reply 案件编号 回复内容（会发给市民；接管别人的人工对话：/reply 案件编号 接管 内容）",
    "note": "用法：/note 案件编号 备注内容（仅内部可见）",
    "transfer": "用法：/transfer 案件编号 部门 转办理由，例如 /transfer NT202611280001 住建 属于物业维修",
    "return": "用法：/return 案件编号 退单理由",
    "resolve": "用法：/resolve 案件编号 办理结果（会发给市民）",
    "reopen": "用法：/reopen 案件编号 [理由]",
    "supervise": "用法：/supervise 案件编号 督办意见 [新期限 2026-12-31]",
    "grant": "用法：/grant 用户ID agent|supervisor|admin",
    "revoke": "用法：/revoke 用户ID agent|supervisor|admin",
    "emergencies": "用法：/emergencies [near]（near：只看未提示的疑似信号）",
}

# ---- emergencies ------------------------------------------------------------------------

EMERGENCY_ALERT = "⚠️【紧急】市民可能正处于危险中（{label}）。机器人已提示其拨打 {numbers}，请立即关注。"
EMERGENCIES_NONE = "最近没有记录。"
EMERGENCIES_HEAD = "最近的紧急情况（{title}，新的在前，号码已遮盖）："
EMERGENCY_LEVELS = {"emergency": "紧急", "doubt": "疑似（先提示号码再继续对话）", "near_miss": "未提示（待复核）"}

# ---- callback (回访) ---------------------------------------------------------------------

RATED = "感谢您的评价（{label}）！"
RATED_UNHAPPY = "很抱歉没能让您满意。您的事项已重新交办，并报告了督办员，会尽快给您新的答复。"
RATE_MORE = "如果还有意见或建议，可以写几句给我们（可选）。"
COMMENT_PROMPT = "请直接发送您的意见，一条消息即可（30分钟内有效）。"
COMMENT_SAVED = "您的意见已记录，谢谢！"
COMMENT_SKIPPED = "好的，谢谢您的支持！"

COMMANDS = [
    ("start", "开始 / 功能介绍"),
    ("help", "使用帮助"),
    ("mycases", "我反映的事项"),
    ("status", "查询办理进度（后跟案件编号）"),
    ("cancel", "取消正在填写的内容"),
]

# The menu shown in the agents' group (Telegram shows it only there).
STAFF_COMMANDS = [
    ("queue", "待办案件（按期限）"),
    ("mine", "我认领的案件"),
    ("case", "案件详情：/case 编号"),
    ("claim", "认领：/claim 编号"),
    ("reply", "答复市民：/reply 编号 内容"),
    ("note", "内部备注：/note 编号 内容"),
    ("transfer", "转办：/transfer 编号 部门 理由"),
    ("return", "退单：/return 编号 理由"),
    ("resolve", "办结：/resolve 编号 结果"),
    ("reopen", "重办：/reopen 编号"),
    ("release", "结束人工对话"),
]
