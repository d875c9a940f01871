"""Spotting emergencies, which go to 110 / 119 / 120 / 122 at once and never into the queue.

Three readers, because panic writes without keywords and calm writes with them:

* **signs**: named patterns for what a person in danger describes (叫不醒, 喘气很弱,
  嘴歪, 楼道全是烟, 刀, 吞了药 …), each belonging to one kind of emergency;
* **a classifier**: one logistic regression over character 1-3 grams and sentence
  vectors, with the twelve kinds of emergency, six frames of look-alike and the
  project's ordinary messages as classes, trained on `data/emergencies/`;
* **calm cues** (上周, 已经灭了, 怎么申请, 归谁管, 如果, 天天, and the classifier's own
  chance of a past, policy, hazard or hypothetical frame): the message is about a past
  event, a rule, a hazard or a hypothesis, not a danger now.

`decide` weighs them and returns one of four levels: an emergency (the advice, and
nothing else), a doubt (the number first, then the conversation carries on), a near miss
(recorded for review, nothing said) or nothing. `assess_many` also reads a long message
clause by clause around each sign, so that a danger that breaks into an errand is not
drowned by the errand's calm cues. The thresholds were chosen on three development pairs
of held-out sets and confirmed on a fourth (`python -m bot.nlp.evaluate_emergencies`; the
README gives the figures).

It runs in the bot before Rasa is asked (so it works when Rasa is down), inside the case
form, during a hand-off, and in batch triage.

The learned reader is `bot.nlp.emergency` (numpy, scikit-learn, sentence vectors); this
module is the rest, and imports neither: `decide` and `assess_many` take any `Reader`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from bot.safety.text import compact

# What a look-alike is, when it is not an emergency.
FRAMES = ("past", "policy", "hazard_complaint", "figurative", "hypothetical", "other")


class EmergencyKind(StrEnum):
    MEDICAL = "medical"
    CHOKING = "choking"
    POISONING = "poisoning"
    SELF_HARM = "self_harm"
    MISSING = "missing_person"
    FIRE = "fire"
    GAS = "gas"
    ELECTROCUTION = "electrocution"
    WATER = "water"
    TRAFFIC = "traffic"
    WEAPON = "weapon"
    VIOLENCE = "violence"


class Level(StrEnum):
    EMERGENCY = "emergency"    # the advice alone; the message goes nowhere else
    DOUBT = "doubt"            # the number first, then the conversation carries on
    NEAR_MISS = "near_miss"    # nothing said; recorded for review
    NONE = "none"


@dataclass(frozen=True)
class Sign:
    name: str
    kind: EmergencyKind
    pattern: str
    # A life-saving step for this sign, said instead of the kind's usual one.
    step: str | None = None
    # Kinds of sign this one needs beside it to count (a farewell beside pills); none: alone.
    company: tuple[EmergencyKind, ...] = ()

    @property
    def alone(self) -> bool:
        return not self.company


K = EmergencyKind
# Read on the folded text (`fold`): NFKC, lower case, each clause without spaces, punctuation
# or emoji, the clauses joined by "，".
SIGNS: tuple[Sign, ...] = (
    # ---- medical ----
    Sign("unresponsive", K.MEDICAL,
         r"(叫|喊|拍|摇|推)(他|她|人|俺娘|我妈|我爸)?(了半天|半天|了好久|好久|了几下|几下|了|都|也|着)?(都|也)?(不醒|没反应|没有反应|不应|不睁眼)"
         r"|眼睛?(都)?睁不开|迷迷糊糊|意识(模糊|不清)"
         r"|(没|没有)(反应|知觉|意识)了?|不省人事|人事不省|昏(过去|迷|倒|死过去)|晕(过去|倒|死过去)|(人|我妈|我爸|老人|孩子|他|她)晕了"
         r"|(倒|躺|趴|瘫)(在)?地(上)?(不动|起不来|没反应|动不了)|一动不动|不会动了|(已经|都)不动了|抽过去"
         r"|(有人|老人|工人|好几个人|几个人|两个人|人)[^，。]{0,3}(倒了|倒下了|晕倒了|昏倒了)"),
    Sign("breathing", K.MEDICAL,
         r"(没|没有|停)(了)?(呼吸|气息|心跳)|(呼吸|喘气|出气|气息|心跳)[^，。]{0,6}(弱|停|没了|没有了|快没|上不来|不上来|困难|急促)"
         r"|喘不(上|过|动)|上不来气|透不过气|憋得(脸|嘴)|没气了|只有出的气|翻白眼|口吐白沫"),
    Sign("cyanosis", K.MEDICAL, r"(嘴唇|嘴|脸|指甲|手指)[^，。]{0,4}(发紫|发青|发黑|紫了|青了|乌了)"),
    Sign("seizure", K.MEDICAL,
         r"抽搐|抽筋[^，。]{0,4}(停不|不停|不止|一直)|浑身(抖|抽)[^，。]{0,4}(停不|不停|一直)|羊角风|癫痫(犯|发作)|惊厥"),
    Sign("bleeding", K.MEDICAL,
         r"((?<!钱包)(?<!荷包)(?<!腰包)(?<!口袋)大出血|血流不止|血止不住|止不住血|血一直(流|冒|往外)|血(哗哗|呼呼|直)(地|的)?(流|冒|往外)|满(脸|头|身|地)(都)?是血|一地的?血"
         r"|流了(好多|很多|一大滩|一地)(的)?血|(血|出血)[^，。]{0,4}(止不住|按不住|堵不住)|骨头(都)?(露|戳)出来)"),
    Sign("chest_pain", K.MEDICAL,
         r"(胸口|心口|胸)[^，。]{0,6}(疼|痛|压|闷|堵|绞)[^。]{0,12}(汗|后背|胳膊|左手|喘|脸色|晕)"
         r"|(冷汗|虚汗)[^。]{0,12}(胸口|心口|胸)[^，。]{0,4}(疼|痛|压|闷)|心(梗|脏病)(犯|发作)|心绞痛(犯|发作)",
         "让病人立刻停下、坐着或半躺着别动，有医生开过的急救药（如硝酸甘油）可以含服。"),
    Sign("stroke", K.MEDICAL,
         r"嘴(巴)?(歪|斜)|口(眼)?歪(斜)?|(说话|讲话|说不清|口齿)[^，。]{0,4}(不清|含糊|说不出|不利索|大舌头|不清楚)|舌头(发硬|不听使唤|硬了)"
         r"|(半边|半个|一边|一侧|左边|右边)(身子|身体|手|脚|胳膊|腿|脸)[^，。]{0,6}(没劲|没力|麻|不听使唤|动不了|抬不起|不能动)"
         r"|(中风|脑梗|脑出血|脑溢血)(了|发作|犯了)",
         "记下发病的时间，让病人侧躺，不要喂水喂药。"),
    Sign("fall_injury", K.MEDICAL,
         r"(从|打)[^，。]{0,6}(楼|梯子|高处|脚手架|树|房顶)[^，。]{0,4}(摔|掉|跌|滚)下来|(摔|跌)得?(头破血流|起不来|动不了)"
         r"|(砸|撞|磕)(到|中|伤|破)?(了)?(头|脑袋)|(耳朵|鼻子)[^，。]{0,3}(流血|出血|冒血)|(阳台|楼上|窗户|窗台|[二三四五六七八九十0-9]楼)[^，。]{0,3}(掉|摔|跌|栽)下(去|来)|(后脑勺?|头)[^，。]{0,2}着地"
         r"|(头|脑袋)[^，。]{0,4}(磕|撞|摔)[^，。]{0,6}(血|不醒|没反应)"),
    Sign("labour", K.MEDICAL, r"(孕妇|怀孕|大肚子)[^。]{0,10}(出血|流血|晕|破水|要生了)|羊水破了"),
    Sign("unwell_now", K.MEDICAL,
         r"(快不行了|要不行了|人不行了|快死了|要死了|没救了|快没气)(?!吧)"),
    # ---- choking ----
    Sign("choking", K.CHOKING,
         r"(卡|噎|堵|呛)[^，。]{0,3}(住|在)[^，。]{0,4}(喉咙|嗓子|气管|脖子)|(喉咙|嗓子|气管)[^，。]{0,4}(卡|噎|堵)(住|了)"
         r"|噎(住|着)了|(?<![腿脚手车门])卡住了|卡(在)?嗓子眼|呛(进去|到气管)|卡了(颗|个|块|根|一颗|一个|一块|一根)|(吸|吞|咽)进去了|吞了(个|一个|颗|一颗)?(硬币|珠子|纽扣|电池|磁|果冻)|(花生|瓜子|豆子?|糖|果冻)[^，。]{0,3}呛(到|住|着)|(吞|咽)[^，。]{0,6}(卡住|下不去|咳不出)|(果冻|糖|硬币|花生|枣核|鱼刺|骨头|珠子)[^，。]{0,6}(卡|噎|堵)",
         "孩子或老人被东西卡住、咳不出声：马上用海姆立克急救法，站在身后双手环抱，"
         "一手握拳放在肚脐上方，另一手包住拳头，快速向内向上冲击，直到东西吐出来；"
         "一岁以下的婴儿改为趴在前臂上拍背、再翻过来按压胸口。"),
    # ---- poisoning and overdose ----
    Sign("overdose", K.POISONING,
         r"(吃|吞|喝|服)(了|下|掉)?[^，。]{0,6}(整瓶|一整瓶|一瓶|一把|好多|很多|几十|十几|二十|好几十)[^，。]{0,4}(药|片|粒|颗)"
         r"|(药|药片|药丸)[^，。]{0,4}当(糖|零食)(吃|吞)"
         r"|(吃|吞|喝|服)(了|下|掉)[^，。]{0,4}(安眠药|安定|农药|百草枯|敌敌畏|老鼠药|毒鼠|灭鼠|杀虫剂|除草剂|消毒液|84|洁厕|洗洁精|漂白|敌百虫)"
         r"|(安眠药|农药|百草枯|敌敌畏|老鼠药|消毒液|洁厕灵)[^，。]{0,6}(喝了|吃了|吞了|喝下去|吃下去|喝进去)"
         r"|药(都)?(吃|吞)(完|光)了|服毒|喝药了"),
    Sign("food_poisoning", K.POISONING,
         r"(吃|喝)[^。]{0,12}(都|全|一起|好几个人|几个人)[^。]{0,6}(吐|拉|晕|抽|倒|发麻)|(蘑菇|菌子)[^。]{0,10}(吐|晕|抽|倒|不对劲)"),
    Sign("fumes", K.POISONING,
         r"(闻|吸)(了|到|进)[^。]{0,12}(就|都|人)?(倒|晕|昏)|(化粪池|污水井|窨井|下水道|沼气池|地窖|储罐|罐子里|井下)[^。]{0,12}(晕|倒|昏|没反应)"
         r"|(洁厕|84|消毒液|漂白|清洁剂|洗涤剂)[^。]{0,8}(混|兑|掺)[^。]{0,12}(喘|咳|晕|呛|吐|刺鼻)"
         r"|(池子|池|井|罐|坑|窖)[^，。]{0,3}下去[^，。]{0,3}(就|都)?(倒|晕|昏)|打(完|了)?(农)?药[^。]{0,10}(晕|抽|吐|翻白眼|倒)",
         "先把人移到空气新鲜的地方；有毒气的地方（化粪池、井下、罐里）不要下去救人，等消防员来。"),
    Sign("carbon_monoxide", K.POISONING,
         r"煤气中毒|一氧化碳|(炭火|烧炭|炭盆|煤炉|炉子|火盆|热水器)[^。]{0,20}(晕|倒|叫不醒|喊不醒|头疼|头痛|吐|没反应|没人应|不应)",
         "先打开门窗通风，把人移到空气新鲜的地方，关掉炉火或燃气，再等急救。"),
    # ---- self-harm ----
    Sign("self_harm_intent", K.SELF_HARM,
         r"(?<![得的])(想|要|准备|打算|决定|还是|干脆|不如)(去)?(死|自杀|轻生|跳楼|跳河|跳江|跳桥|割腕|上吊|寻死|了断|结束自己)"
         r"(?!你|他|她|您|宝|了你|我了|人了|的心)"
         r"|不想活|活不下去|活着(真|都|也|太|实在)?(没|没有)(意思|意义|盼头)|(结束|了结)(自己的?)?(生命|一切)|自杀|轻生|寻短见|想不开"
         r"|(站|坐|爬)(在|上|到)[^，。]{0,6}(楼顶|天台|顶楼|窗台|桥上|桥栏|楼边|阳台外|栏杆|护栏)[^。]{0,10}(跳|死|算了)"
         r"|(站|坐|爬)(在|上|到)[^，。]{0,6}(楼顶|天台|顶楼|窗台|桥上|桥栏|楼边|阳台外)"
         r"|想跳下去|跳下去算了|翻(到|过|出)[^，。]{0,3}(栏杆|护栏|窗户|窗台)(外)?|(铁轨|铁路|轨道)[^。]{0,6}(坐|躺|站)[^。]{0,10}(车|火车)|(往|朝)自己[^，。]{0,4}(扎|捅|砍|割|划)"
         r"|(扎|捅|砍|伤害)自己|(药|绳子|刀|炭)[^，。]{0,4}(都)?(准备好|备好|买好)了"
         r"|(买|攒|备)(了|好)[^，。]{0,4}(安眠药|农药|老鼠药|木炭|绳子)"
         r"|我(刚|刚才|已经)?(吃|吞|喝)了[^，。]{0,6}(安眠药|安定|一板|一瓶|整瓶|农药|百草枯)|(在|正在)(吃|吞)安眠药"
         r"|遗书|下辈子(再见|见)|永别了|最后一(次|条)(跟|和|给)|别(劝|拦)我|来世再"
         r"|(割|划)(了|破)?[^，。]{0,3}(手腕|腕|自己)|绳子[^，。]{0,6}(挂|套|准备)"),
    # A farewell, and giving one's things away: each counts beside the other or beside a danger.
    Sign("farewell", K.SELF_HARM,
         r"(就是|就想|只是|只想)?(跟|和|给)(你们|人|大家|谁)说一?声|不用回我|别(劝|拦|找)我|不让我(去)?找|对不起大家"
         r"|最后一(次|回)|(以后|过后)[^，。]{0,8}(都)?用不着了|照顾好(孩子|自己|爸妈|我妈|我爸)|这辈子谢谢|再见了|永别|我死了|好累",
         company=(K.SELF_HARM, K.POISONING, K.WEAPON, K.WATER)),
    Sign("giving_away", K.SELF_HARM,
         r"(今晚|今天晚上|明天)(以后|过后)[^，。]{0,8}(用不着|不用|不需要)了|(喝|吃)完(了)?就睡|做傻事"
         r"|(帮忙|帮我)[^，。]{0,2}养|(东西|钱|存款|卡)[^，。]{0,6}(都)?(留给|给你|给我)",
         company=(K.SELF_HARM, K.POISONING, K.WEAPON, K.WATER)),
    Sign("at_edge", K.SELF_HARM,
         r"(去|在|到)(了)?[^，。]{0,3}(河|湖|江|海|水库)边|(去|在|到)[^，。]{0,3}(桥上|楼顶|天台)|站在(河|湖|江|海)里",
         company=(EmergencyKind.SELF_HARM,)),
    # ---- missing person ----
    Sign("missing_now", K.MISSING,
         r"(孩子|小孩|娃|儿子|女儿|闺女|宝宝|孙子|孙女|伢|小把戏|外孙|老人|老爷子|老太太|老头|我爸|我妈|奶奶|爷爷|外婆|外公|姥姥|姥爷)"
         r"[^。]{0,12}(不见了|找不到了|找不着了|丢了|走丢|走失|没影了|人没了|没了影|被(人)?(抱|带|拐|抢)走)"
         r"|找了[^，。]{0,4}(分钟|个小时|小时|半天|一上午|一下午)[^。]{0,8}(没|不|找不)"
         r"|(走散|跟丢)了|(下来|回来|出来|一转身|一回头|功夫|工夫|转眼|眨眼)[^，。]{0,3}(人)?(就)?(没|不见)了"
         r"|(记性|脑子|痴呆|糊涂|认不得路|不认路)[^。]{0,24}(不见|走散|走丢|没回来|找不到|打不通|联系不上|还没到)"
         r"|(不见|走散|走丢|没回来|还没到|打不通|联系不上)[^。]{0,24}(记性很?差|痴呆|脑子不|糊涂|认不得路|不认路)",
         "报警不用等满 24 小时。说清楚他的样子、穿的衣服和最后出现的地方；在水边不见的，也告诉警察。"),
    # ---- fire ----
    Sign("fire", K.FIRE,
         r"着火|着伙|起火|失火|火灾|(烧|着)起来了?|火(苗|光|势)[^，。]{0,4}(窜|冒|往外|很大|好大|越来越)|窜火|冒火"
         r"|(浓|黑|大)烟[^，。]{0,6}(冒|往|滚|出不去|看不见|看不到|呛)|(全是|都是|满是|好多|很多)(黑|浓)?烟|烟[^，。]{0,3}(呛|熏)得"
         r"|(门|门把手?)[^，。]{0,4}烫|油锅[^，。]{0,4}(着|烧|起火)|(电动车|电瓶车|电池|充电宝)[^，。]{0,6}(烧|爆|着|炸)|烟(好大|很大|太大|特别大)|爆炸|炸了[^，。]{0,6}(人|火|烟)",
         "马上离开，不要乘电梯，用湿毛巾捂住口鼻、弯腰低姿走；出不去就关紧房门、用湿布堵住门缝，到窗口呼救。"),
    # ---- gas ----
    Sign("gas", K.GAS,
         r"(煤气|燃气|然气|天然气|液化气|沼气)[^。]{0,8}(味|漏|泄|嘶嘶|呲呲|冒)|(臭鸡蛋|臭蛋)味|闻到[^，。]{0,4}(煤气|燃气|然气|天然气)"
         r"|(煤气罐|液化气罐|气罐|燃气管|煤气管)[^，。]{0,6}(漏|冒|响|嘶)"
         r"|味[^。]{0,4}越来越(浓|重|大|冲)[^。]{0,10}(晕|头疼|头痛|恶心|想吐)"),
    # ---- electrocution ----
    Sign("electrocution", K.ELECTROCUTION,
         r"触电|被电(到|了|打|击|住|倒)|漏电[^。]{0,12}(倒|不醒|没反应|晕)|电(到|着|住)了|(粘|黏|吸)在[^，。]{0,4}(电线|插座|电器|开关)|(电线|高压线)[^，。]{0,6}(掉|断|落|搭)[^。]{0,8}(人|水|身上)"
         r"|(摸|碰|抓)(到|了|着)?[^，。]{0,4}(电线|插座|电闸|高压)[^。]{0,10}(倒|不动|没反应|不醒|松不开)"),
    # ---- water ----
    Sign("drowning", K.WATER,
         r"(掉|落|跌|滑|栽)(进|到|下)?[^，。]{0,3}(河|水|湖|塘|江|池|井|海|渠|沟)(里|中)?|溺水|落水|(在|往)水里[^，。]{0,6}(扑腾|挣扎|沉|冒)"
         r"|(淹|漫|涨)[^，。]{0,6}(到|过)[^，。]{0,3}(腰|胸|脖子|膝盖|床|窗户)|(困|堵|出不去)[^。]{0,8}(水|洪)|水[^，。]{0,6}(越涨越|一直涨|漫进|灌进)"
         r"|(车|汽车)[^，。]{0,6}(冲进|掉进|开进|沉)[^，。]{0,4}(河|水|湖)"
         r"|(河|江|湖|水|海|塘|池)里[^。]{0,10}(抽筋|喊救命|扑腾|沉下去|起不来|上不来)",
         "不会游泳不要下水，把救生圈、木板、绳子、空桶这些能漂的东西扔给落水的人；被水困住的往高处去。"),
    # ---- traffic ----
    Sign("crash", K.TRAFFIC,
         r"(车祸|撞车|追尾|翻车|车翻了|侧翻|连环撞|相撞|(两|几|俩)(个|辆)?车[^，。]{0,3}撞|撞(一块|一起|到一起)了?"
         r"|被(车|汽车|货车|卡车|大车|公交|电动车)[^，。]{0,3}(撞|压|碾|刮)|(撞|压)(倒|飞|伤)了?[^，。]{0,4}(人|老人|孩子|小孩)"
         r"|卡在[^，。]{0,4}(驾驶室|车里|座位)|(人|司机)[^，。]{0,6}(卡|夹|困)在[^，。]{0,4}(车|驾驶室|里面)"
         r"|(车|摩托|电动车|三轮|货车)[^，。]{0,8}(撞(了|上|到|在|护栏|树|墙|电线杆)|对撞)|被甩出(来|去)|(车|方向盘)[^，。]{0,4}(夹|卡)住)",
         "开启双闪、在车后放好警示牌，不要随意搬动伤者；有人被卡住出不来，同时拨打 119。"),
    # ---- weapons and threats ----
    Sign("weapon", K.WEAPON,
         r"(拿|举|提|握|挥|掏|拎|抡)(着|了|出)?[^，。]{0,4}(刀|菜刀|砍刀|水果刀|斧头|枪|棍子|铁棍|钢管|锤子|榔头|匕首|刀子)"
         r"|持刀|持械|砍人|捅人|(要|扬言|说要)[^，。]{0,4}(杀|砍|捅|弄死|烧死|炸)|(杀|砍|捅|弄死)了?(你|他|她|我|人)"
         r"|抢劫|打劫|绑架|劫持|(拖|拽|塞|抱)进[^，。]{0,4}车|进贼|入室|(手里|手上)(有|拿)[^，。]{0,2}(家伙|刀|凶器)|有人(闯|翻|砸)进|(撬|砸)[^，。]{0,4}(门|锁|窗)|有人(在)?(撬|砸|翻)[^，。]{0,3}(门|锁|窗|墙)|(跟踪|尾随)我"),
    # ---- violence now ----
    Sign("violence", K.VIOLENCE,
         r"(在|正在|又在|一直在|还在)[^，。]{0,3}(打|揍|踢|抽|掐)[^，。]{0,4}(孩子|小孩|娃|老婆|媳妇|妻子|老人|我|她|他|人)"
         r"|(打|揍)(孩子|小孩|娃|老婆|媳妇|我)[^，。]{0,6}(救命|哭|喊|血|晕|要死)|家暴|打我(?!电话|手机|号码)|打人了?|打架|打起来|群殴|殴打"
         r"|(掐|勒)(住|着)?[^，。]{0,3}(脖子|喉咙)|(哭|喊|叫)[^，。]{0,4}(救命)|(按|摁|压)在地上(打|揍|踢)"),
)

PRIORITY = (K.SELF_HARM, K.CHOKING, K.POISONING, K.ELECTROCUTION, K.WATER, K.TRAFFIC, K.FIRE,
            K.GAS, K.WEAPON, K.VIOLENCE, K.MISSING, K.MEDICAL)

# Cues that the message is about a past event, a rule, a hazard or a hypothesis.
CALM_CUES: dict[str, str] = {
    "past": (r"(昨晚|昨天|昨儿|前天|前晚|大前天|上周|上个?星期|上个?礼拜|上个?月|上回|去年|前年"
             r"|前几天|前些天|前些日子|前阵子|前段时间"
             r"|那年|那天|那次|那会儿|当时|当年|事后|过后|后来|以前|之前|曾经|上次|小时候|年前|年初|年底|月初|月底"
             r"|[0-9一二三四五六七八九十两几半]+(个)?(多)?(天|日|周|星期|礼拜|月|年)(以前|之前|前)"
             r"|[0-9一二三四五六七八九十]+月份|[0-9]+年[0-9]*月?|[0-9]+月[0-9]+日"
             r"|已经(灭|扑灭|没事|好了|出院|脱离|送到|送进|送去|送医|找到|找回|抢救过来|救上来|处理)"
             r"|(火|烟)[^，。]{0,3}(灭了|扑灭了|没了)|(后来|最后)[^，。]{0,6}(找到|救|送|好|没事|灭)"
             r"|出院|康复|住院(了|期间)|复查|去世(了)?(以后|后)|事故(以后|后|之后))"),
    "question": (r"(怎么(申请|办理?|认定|赔|报销|算|处理|投诉|举报|补偿|领)|如何(申请|办理|认定|报销)"
                 r"|归谁管|谁来管|谁管|哪个部门|哪个单位|找哪里|找谁"
                 r"|能(不能)?(赔|报|报销|认定|算|申请|领)|赔(偿|多少|钱)|理赔|报销|工伤|工亡|认定|鉴定"
                 r"|补贴|补助|待遇|抚恤|保险|政策|规定|流程|手续|材料|条件|标准"
                 r"|保护令|见义勇为|隐患|整改|投诉|举报|反映|建议|物业|消防(通道|栓|设施)|占用|乱停"
                 r"|堵(住|了)?(消防|通道)|收费|罚款|多少钱|费用)"),
    "hypothetical": r"(如果|万一|假如|假设|假使|要是)|(应该|该)怎么(急救|救|逃|做|处理)|急救(知识|培训|课程)"
                    r"|(培训|演练|课程|学习|宣传|讲座|知识)"
                    r"|(怕|担心|害怕|生怕|容易|可能会|迟早)[^，。]{0,4}(起火|着火|失火|爆炸|漏气|出事|触电|淹|砸到人|伤人)",
    # The danger is over or was never there.
    "resolved": (r"(差点|差一点|险些|幸好|好在|还好(?!好)|没受伤|没人受伤|都没事|人没事|没什么事|虚惊一场"
                 r"|是谣言|谣言|是误会|误会一场|不用(派人|来|管)了|不用了|没大碍"
                 r"|已经(找到|回来|到家|回家)|找到了|找着了|到家了|联系上了|缓过来了|好多了|现在好好的|人好好的"
                 r"|从(来)?没(真)?(动过手|出过事)|(看|搞|弄|听)错了|没(着火|漏|掉)|(不是|没有)在?(打|着火|掉|跳)"
                 r"|(救|捞)上来了|救护车[^，。]{0,3}(拉|接)走了|送(到)?医院了|自己(爬|站)起来)"),
    # A chronic nuisance, not an acute danger.
    "habitual": (r"(最近|近来|这段时间|这阵子|天天|每天|每晚|每到|经常|老是|总是|一到[^，。]{0,6}就"
                 r"|这半年|这几个月|一年多|好几年"
                 r"|好几次|多次|长期|常年|好久)"),
}

# Cues that it is happening now: with a sign, they outweigh the calm cues ("到现在也没找着"
# is not one).
URGENT = (r"(刚才|刚刚|刚(下|上|回|出|进|到|看|发现)|(?<![到至])现在(?![也还都]?没)|正在|还在|马上"
          r"|快来|快点|快快|赶紧|救命|救救|来人"
          r"|怎么办啊|咋办啊|咋整啊|点算|帮帮我"
          r"|而家|依家|这会儿|眼下|一直在|还没停|停不下来|出不来|出不去|没反应|不醒)")

_SIGNS = [(sign, re.compile(sign.pattern)) for sign in SIGNS]
_URGENT = re.compile(URGENT)
_CALM = {name: re.compile(pattern) for name, pattern in CALM_CUES.items()}

# Thresholds on the classifier's chances (chosen on the development set; see the module doc).
SURE = 0.7           # an emergency whatever the cues say
SIGN_FLOOR = 0.3     # a sign with no calm cue is an emergency unless the model is this sure it is not
DOUBT = 0.45         # the number first, then carry on
NEAR_MISS = 0.25     # recorded for review
SHORT = 8            # fewer characters tell the model too little: no doubt without a sign
CALM_MASS = 0.4      # the model's own calm cue: chance of a past / policy / hazard / hypothetical frame


@dataclass(frozen=True)
class Assessment:
    level: Level
    kind: EmergencyKind | None
    probability: float
    signs: tuple[str, ...] = ()
    calm: tuple[str, ...] = ()

    @property
    def alarming(self) -> bool:
        """The citizen is given an emergency number (alone, or before the conversation)."""
        return self.level in (Level.EMERGENCY, Level.DOUBT)

    @property
    def advice(self) -> str:
        return advice(self)

    @property
    def label(self) -> str:
        return LABELS[self.kind] if self.kind else ""

    @property
    def numbers(self) -> str:
        return NUMBERS[self.kind] if self.kind else ""


KIND_PREFIX = "kind:"
# The look-alike frames that say "not now": their summed chance is a learned calm cue.
CALM_FRAMES = ("past", "policy", "hazard_complaint", "hypothetical")


@dataclass(frozen=True)
class Reading:
    probability: float       # of an emergency, over the twelve kinds
    kind: EmergencyKind      # the likeliest kind
    calm: float              # of a past event, a policy question, a hazard or a hypothesis



class Reader(Protocol):
    """What the learned reader gives for each text (`bot.nlp.emergency.EmergencyModel`)."""

    def read(self, texts: list[str]) -> list[Reading]: ...


def assess_many(texts: Iterable[str], reader: Reader) -> list[Assessment]:
    """Each text read whole, and a long one also clause by clause around each sign.

    A citizen often starts with an errand and then the danger breaks in ("想问下燃气费…
    对了厨房味越来越浓 头有点晕"). Read whole, the errand's calm cues drown the danger, so
    every run of three clauses that holds a sign is read and decided on its own as well,
    with the calm cues of its own clauses (plus the message's hypotheses, habits and
    all-clears, which speak for the whole). The most alarming reading wins, with one
    limit, because three clauses out of a long letter read out of context: a run that
    does not say the danger is now (刚才, 现在, 救命 …) can give at most the number first,
    and only in a message with no calm cue anywhere.
    """
    texts = list(texts)
    if not texts:
        return []
    windows = [sign_windows(text) for text in texts]
    batch = texts + [window for group in windows for window in group]
    readings = reader.read(batch)
    whole, parts = readings[:len(texts)], iter(readings[len(texts):])
    result = []
    for text, reading, group in zip(texts, whole, windows, strict=True):
        found = decide(text, reading)
        overall = _calm_cues(fold(text))
        framing = tuple(cue for cue in overall if cue in WHOLE_MESSAGE_CUES)
        for window in group:
            local = decide(window, next(parts), framing)
            if not _URGENT.search(fold(window)):
                if overall or local.probability < DOUBT:
                    continue
                local = replace(local, level=min(local.level, Level.DOUBT, key=RANK.get))
            if RANK[local.level] > RANK[found.level]:
                found = local
        result.append(found)
    return result


CLAUSE = re.compile(r"[\s，,。．.！!？?；;、…~～]+")
WINDOW = 3          # clauses read together around a sign
MAX_WINDOWS = 6     # per message, to bound the cost of a long letter
# Cues that speak for the whole message wherever they stand.
WHOLE_MESSAGE_CUES = ("hypothetical", "habitual", "resolved")
RANK = {Level.NONE: 0, Level.NEAR_MISS: 1, Level.DOUBT: 2, Level.EMERGENCY: 3}


def sign_windows(text: str) -> list[str]:
    """Runs of `WINDOW` clauses that hold a sign, for a message longer than one run."""
    clauses = [c for c in CLAUSE.split(text) if c]
    if len(clauses) <= WINDOW:
        return []
    found: list[str] = []
    for start in range(len(clauses) - WINDOW + 1):
        window = " ".join(clauses[start:start + WINDOW])
        folded = fold(window)
        if signs_in(folded):
            found.append(window)
            if len(found) == MAX_WINDOWS:
                break
    return found


def fold(text: str) -> str:
    """The text compacted clause by clause, the clauses joined by "，" so that a pattern's
    `[^，。]{0,n}` stays inside one clause ("还在打桩 我要投诉" is not "在打…我")."""
    return "，".join(part for part in (compact(c) for c in CLAUSE.split(text)) if part)


def signs_in(folded: str) -> list[Sign]:
    """The signs in a folded text; those that need company only beside another sign."""
    matched = [sign for sign, pattern in _SIGNS if pattern.search(folded)]
    return [sign for sign in matched if sign.alone or any(
        other is not sign and other.kind in sign.company for other in matched)]


def _calm_cues(folded: str) -> tuple[str, ...]:
    return tuple(name for name, pattern in _CALM.items() if pattern.search(folded))


def decide(text: str, reading: Reading, framing: tuple[str, ...] = ()) -> Assessment:
    """One reading weighed with the signs and cues in `text` (and `framing`: cues from the
    rest of the message that hold for this part too)."""
    p, likeliest = reading.probability, reading.kind
    folded = fold(text)
    signs = signs_in(folded)
    calm = tuple(dict.fromkeys(_calm_cues(folded) + framing))
    if reading.calm >= CALM_MASS:
        calm += ("learned",)
    names = tuple(sign.name for sign in signs)
    # The cause names the advice: a choking or an electric shock before the symptom it causes.
    kind = min((sign.kind for sign in signs), key=PRIORITY.index, default=None)
    over = bool(set(calm) & {"past", "resolved"})
    # A sign of self-harm gets at least the number, unless the message says it is over.
    self_harm = kind is K.SELF_HARM and not set(calm) & {"resolved", "learned"}
    urgent = bool(signs) and not over and bool(_URGENT.search(folded))
    supposed = bool(set(calm) & {"hypothetical", "resolved"})
    if (p >= SURE and not supposed) or (signs and not calm and p >= SIGN_FLOOR):
        level = Level.EMERGENCY
    elif urgent or self_harm or (p >= DOUBT and not calm and len(compact(text)) >= SHORT) or (
            signs and p >= DOUBT and not set(calm) & {"past", "hypothetical", "resolved"}):
        level = Level.DOUBT
    elif p >= NEAR_MISS or signs:
        level = Level.NEAR_MISS
    else:
        return Assessment(Level.NONE, None, p, names, calm)
    return Assessment(level, kind or likeliest, p, names, calm)


# ---- what the citizen is told ----------------------------------------------------------

CALL: dict[EmergencyKind, str] = {
    K.MEDICAL: "请立即拨打 120 急救电话，说清地址和病人的样子。",
    K.CHOKING: "请立即拨打 120 急救电话。",
    K.POISONING: "请立即拨打 120 急救电话，把药瓶、农药瓶或吃剩的东西带给医生看。",
    K.SELF_HARM: ("您现在的安全最要紧。已经吃了药或伤了自己，请马上拨打 120；有危险请拨 110。"
                  "想找人说说话，可以打心理援助热线 12356。"),
    K.MISSING: "请立即拨打 110 报警。",
    K.FIRE: "请立即拨打 119 火警电话！",
    K.GAS: "请马上离开，到室外安全的地方再拨打 119 或燃气公司抢修电话。",
    K.ELECTROCUTION: "请立即拨打 120 急救电话。",
    K.WATER: "请立即拨打 119 和 120！",
    K.TRAFFIC: "请立即拨打 120 急救，并拨打 122 交通事故报警（或 110）。",
    K.WEAPON: "请立即拨打 110 报警！",
    K.VIOLENCE: "请立即拨打 110 报警！有人受伤，同时拨打 120。",
}

_SIGN_STEPS = {sign.name: sign.step for sign in SIGNS if sign.step}

STEP: dict[EmergencyKind, str] = {
    K.MEDICAL: "不要随意搬动病人；没有呼吸、叫不醒的，按 120 调度员在电话里的指导做胸外按压。",
    K.CHOKING: _SIGN_STEPS["choking"],
    K.POISONING: "不要自己乱催吐；人叫不醒的让他侧躺，防止呕吐物呛住。",
    K.SELF_HARM: "请告诉身边信任的人，让他现在就来陪着您。您不是一个人，有人愿意帮您。",
    K.MISSING: _SIGN_STEPS["missing_now"],
    K.FIRE: _SIGN_STEPS["fire"],
    K.GAS: "不要开关电灯电器、不要点火，也不要在屋里打电话；能做到的话先关燃气总阀、打开门窗。",
    K.ELECTROCUTION: "先拉下电闸切断电源，或用干燥的木棍、塑料把电线挑开；千万不要直接用手去拉触电的人。",
    K.WATER: _SIGN_STEPS["drowning"],
    K.TRAFFIC: _SIGN_STEPS["crash"],
    K.WEAPON: "先离开、躲到安全的地方锁好门，不要上前对抗；记住对方的样子和去向。",
    K.VIOLENCE: "先保护好自己和孩子，躲到安全的地方。",
}

NUMBERS: dict[EmergencyKind, str] = {
    K.MEDICAL: "120", K.CHOKING: "120", K.POISONING: "120", K.SELF_HARM: "120、110 或 12356",
    K.MISSING: "110", K.FIRE: "119", K.GAS: "119", K.ELECTROCUTION: "120", K.WATER: "119 和 120",
    K.TRAFFIC: "120 和 122", K.WEAPON: "110", K.VIOLENCE: "110",
}

LABELS: dict[EmergencyKind, str] = {
    K.MEDICAL: "急病重伤", K.CHOKING: "异物卡喉", K.POISONING: "中毒、服药过量", K.SELF_HARM: "自伤自杀风险",
    K.MISSING: "人员走失", K.FIRE: "火情", K.GAS: "燃气泄漏", K.ELECTROCUTION: "触电", K.WATER: "落水、被水围困",
    K.TRAFFIC: "交通事故伤人", K.WEAPON: "持械、威胁、入室", K.VIOLENCE: "正在发生的暴力",
}

ALL_NUMBERS = "急救 120 · 报警 110 · 火警 119 · 交通事故 122"
NOT_DISPATCH = "12345 热线不能派出救援，请您直接拨打上面的电话。"
AFTER_EMERGENCY = "这条消息不会登记排队。危险过去以后，您可以继续说要办的事情。"


def advice(found: Assessment) -> str:
    """The number and one or two life-saving steps; for a doubt, a short line before the rest."""
    if found.kind is None:
        return ""
    if found.level is Level.DOUBT:
        return (f"如果现在有人正处在危险中，请立即拨打 {NUMBERS[found.kind]}。"
                f"{NOT_DISPATCH}")
    step = next((sign.step for sign in SIGNS if sign.name in found.signs and sign.step
                 and sign.kind is found.kind), None) or STEP[found.kind]
    return f"{CALL[found.kind]}\n{step}\n{ALL_NUMBERS}\n\n{NOT_DISPATCH}{AFTER_EMERGENCY}"
