"""Reading what a danger word means, before anyone is alarmed (pure, fixed-vector tested).

The danger words (care/safety_words.py) are a floor for recall: they match "摔" in "我把暖壶
摔了" and "die" in "I'm dying to see the baby". Every match is read here in its sentence:

- **what** fell or broke: a person, or a thermos flask, a phone, the cat;
- **who**: me or someone here with me, or a neighbour, someone on television, in the news;
- **when**, and whether it is over: "前天差点滑倒 没咋地", "I tripped last week but I'm fine";
- **idioms and hyperbole**: 乐死我了, 忙死了, 想死你了, 跳楼价, "dying to", "to die for",
  "killing me", "nearly gave me a heart attack";
- **questions about safety**: "120打通了要说啥", "what do I do if my husband falls?", which
  want information, not an alarm.

What is left is graded: ``emergency`` (clear danger now: a fall with injury or unable to get
up, chest pain, stroke signs, breathlessness, fire or gas, someone who will not wake),
``possible`` (a fall with nothing said about injury, "胸口有点闷", dizziness: one question,
then an alarm if help is needed or nobody answers), ``crisis`` (not wanting to live,
directly or not). A clear sign of danger now ("起不来", "叫不醒", "help") is never explained
away by the words around it, except by a question about what to do *if* it happened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from care.safety_words import hits

# Grades, most urgent first.
EMERGENCY, CRISIS, POSSIBLE = "emergency", "crisis", "possible"
ORDER = (EMERGENCY, CRISIS, POSSIBLE)


@dataclass(frozen=True)
class Reading:
    level: Optional[str]  # emergency, crisis, possible, or None
    why: str  # a short code for staff and tests: "fall-injury", "idiom", "object", …
    words: str = ""  # what was matched (the message's own words, for the staff console)


def _rx(*parts: str) -> re.Pattern[str]:
    return re.compile("|".join(parts), re.IGNORECASE)


# Clear danger now: no context explains these away (only a question about "what if").
NOW = _rx(
    r"起不来|起不了身|爬不起来|站不起来|动不了|动弹不了|叫不醒|喊不醒|推不醒|没(了)?意识|不省人事",
    r"昏(迷|过去)|晕过去|喘不(上|过|动)|上不来气|透不过气|呼吸(困难|不了)|救命|快来人|来人啊",
    r"快(叫|打|送).{0,4}(120|救护车|医院)|(打|叫)120|救护车|流血不止|血止不住|止不住血|大出血",
    r"着火|冒烟|煤气味|燃气味|(煤气|燃气|天然气)(泄漏|漏)|噎住|卡住嗓子|抽(过去|风)|口吐白沫",
    r"嘴(歪|角歪)|口眼歪|说不出话|半边(身子)?(不能动|没劲|麻)|胸口(剧痛|疼得|痛得)",
    r"\bcan'?t (get up|move|breathe|wake (him|her))|\bwon'?t wake|\bnot (breathing|waking)",
    r"\bunconscious\b|\bnot responding\b|\bunresponsive\b|\bcollapsed\b|\bpassed out\b",
    r"\bhelp\s*(me|us)?\s*(now|please|!)|^\W*help\W*$|\bsos\b|\bambulance\b|"
    r"\b(call|dial) (911|999|112|120)",
    r"\b(bleeding|blood)\b.{0,20}\b(won'?t|doesn'?t|can'?t) stop|\bchoking\b|\bseizure|"
    r"\bfit\b.{0,6}now",
    r"\b(fire|smoke|gas)\b.{0,12}\b(kitchen|house|flat|room|now|everywhere)|\bsmell(s)? (of )?gas",
    r"\bon fire\b.{0,12}\b(kitchen|house|pan|stove)|\bthere'?s a fire|\bchest pain|\bcrushing",
    r"\bface (is )?droop|\bslurr|\bnumb on one side|\bweak on one side|"
    r"\bon the floor\b.{0,20}\bcan'?t",
)
# A fall's injury, or its harm: these make a fall an emergency, not a question.
INJURY = _rx(
    r"疼|痛|流血|出血|血|骨折|断了|肿|青|紫|磕(到|着|破|了)|撞(到|着|了)|碰(到|着)了?头|头(破|晕)",
    r"起不来|动不了|站不起来|爬不起来|走不了|不能走|晕",
    r"\bhurt|\bpain|\bache|\bbleed|\bblood|\bbroke|\bbroken|\bfracture|\bswoll|\bbruis",
    r"\bhit (my|his|her) head|\bbanged|\bcan'?t (get up|move|stand|walk)|\bstuck\b|\bdizzy",
)
# The danger words that are a fall (what a fall means depends on INJURY).
FALL = _rx(r"摔|跌|滑倒|栽倒|绊倒|倒在|倒地|\bfell\b|\bfallen\b|\bfall\b|\bslipp?ed\b|\btripped\b")
# Possible danger without any of the floor's words: one question, not an alarm.
POSSIBLE_WORDS = _rx(
    r"头(晕|昏)|晕乎|眩晕|天旋地转|眼(前)?发花|胸口.{0,3}(闷|发紧|不舒服|压着)|心(慌|里发慌|口发慌"
    r")",
    r"心跳.{0,3}(快|乱|不齐)|(特别|非常|很|浑身|全身).{0,2}(难受|不舒服|没劲|无力)|喘(气)?(有点)?("
    r"急|粗|费劲)",
    r"(摔|跌|滑)了?(一跤|一下|个跟头|倒了?)|绊了一跤",
    r"\bdizzy\b|\blight-?headed\b|\b(room|head) (is )?spinning|\bpalpitation|"
    r"\bheart (is )?(racing|pounding)",
    r"\bchest (feels )?(a (bit|little) |kind of |sort of )?(tight|heavy|funny|strange)",
    r"\b(feel|feeling) (really |very |so |quite )?(unwell|awful|terrible|faint|weak|strange|funny)"
    r"\b",
    r"\bnot (feeling|doing) (well|right|too good)|\b(had|took) a (fall|tumble)\b|"
    r"\bi (fell|slipped|tripped)\b",
)

# Words near danger that the floor leaves alone ("摔过", "乐死", "fell off", "falls"): read
# only to explain away a classifier's guess.
NEAR_DANGER = _rx(
    r"摔|跌|滑倒|晕|死|血|火|烟|煤气|中毒|中风|心脏|胸口|救命|120|急救|救护车|不想活|走了",
    r"\bfall|\bfell\b|\bfallen\b|\bslip|\btrip|\bdie|\bdying\b|\bdead\b|\bdeath\b|\bkill",
    r"\bhurt|\bblood|\bbleed|\bfire\b|\bsmoke|\bgas\b|\bheart\b|\bstroke\b|\bfaint",
    r"\bbreath|\bambulance\b|\bemergency\b|\bhelp\b|\bchest\b|\bunconscious\b|\bcollapse",
)
# Hyperbole: 死 and "die" as intensifiers, and idioms that hold a danger word.
IDIOM = _rx(
    r"[乐笑忙累饿冻热困烦气吓急馋渴美羡闷臭香撑疼痒酸晒挤吵丑懒愁]死(了|我了|人了|俺了|啦|我啦|个"
    r"人)?",
    r"想死(你|您|你们|咱|他|她|它|我了|俺了|孩子|孙|宝|大家)",
    r"(你|他|她|他们)(就)?去死|跳楼(价|甩卖|大甩卖)|摔门|摔跤(比赛|运动|节目|手)|看摔跤|摔打",
    r"心脏病(都)?(要|快)?(被)?(吓|气)出来|吓(得|出)?.{0,2}心脏病|差点(没)?(把我)?(吓|气)(死|晕)",
    r"气(得|的)?.{0,2}(晕|吐血|半死)|(笑|乐)(得|的)?.{0,3}(肚子疼|喘不上气|岔气)|要命(的|了)?(是)?",
    r"救命稻草|中风(险|期)|了结(这|那)?(件|桩)?事|(做个|做一个)了断",
    r"\bdying (to|for)\b|\bto die for\b|\bkilling me\b|\bkills me\b|"
    r"\bdie (of|from) (laughing|embarrassment|shame)",
    r"\bcould (have )?die[d]? (laughing|happy)|"
    r"\b(almost|nearly) (gave|give|had) (me )?a heart attack",
    r"\bheart attack (on a plate|in a bowl)|\bstroke of (luck|genius)|"
    r"\bstrok(e|ed|ing) (the|my|her|his) (cat|dog|hair|head)",
    r"\bfaint(ly)?\b (smell|sound|hope|idea|memory|light|line|voice|chance|praise|trace)|"
    r"\bfaint-hearted",
    r"\bon fire\b(?!.{0,12}\b(kitchen|house|pan|stove|room|flat))|\bfired up\b|\bcease-?fire\b",
    r"\bchoking (up|back)|\bchoking hazard|"
    r"\bfell (asleep|for|in love|behind|off the wagon|through)",
    r"\bfall (asleep|for|in love|behind|season|colou?rs|leaves)|\bin the fall\b|\bthis fall\b|"
    r"\blast fall\b",
    r"\bkill(ing)? (myself|me) (laughing|with work)|\bcould sleep forever",
    r"\b(emergency|ambulance|fire) (exit|kit|contact|number|services|station|drill|plan|alarm)s?\b",
    r"\b(blood|bleeding) (pressure|test|sugar)|"
    r"\bhelp (me|us) (with|to|book|find|choose|decide|understand)",
    # 120, 110, 119 as amounts: a price, a blood pressure, a room ("血压120", "120块").
    r"(血压|高压|低压|收缩压|舒张压|心率|心跳|脉搏|第|房间|门牌|花了|才|\d\s*/\s*|pressure|rate|ro"
    r"om|page|bus|number)\s*(是|有|到|了)?\s*(120|110|119)(?!\d)",
    r"(?<!\d)(120|110|119)\s*(块|元|斤|岁|号|分|页|米|公里|ml|mg|度|次|天|个|多|克|毫|/|路|rmb|yua"
    r"n|dollars|pounds|kg|lbs|mmhg|bpm|over|分钟|平|楼|室)",
)
# Things that fall and break, and animals: 我把暖壶摔了, "my phone fell off the table".
OBJECT_ZH = (
    "碗|杯|盘|碟|壶|暖瓶|热水瓶|保温杯|瓶|罐|锅|盆|勺|筷|手机|电话|眼镜|花瓶|镜子|遥控器|电视|相框|"
    "钟|表|灯|茶|东西|药瓶|盒|箱|椅子|凳子|书|包|钥匙|鸡蛋|蛋|杯子|碗碟|花盆|玻璃|水杯|瓷|收音机|"
    "拐杖|助行器|假牙|助听器|菜|饭|汤|牌子|画|伞|衣服|帽子|树枝|树叶|叶子|雪|雨|价格|股票|温度|"
    "猫|狗|鸟|鸡|鸭|鱼|兔|宠物|猫咪|小狗|狗狗|鹦鹉"
)
OBJECT_EN = (
    "phone|cup|mug|glass|glasses|plate|bowl|vase|pot|pan|jar|bottle|flask|thermos|remote|tv|"
    "picture|frame|clock|watch|lamp|book|books|box|bag|keys|egg|eggs|chair|shelf|mirror|kettle|"
    "teapot|dish|dishes|tray|radio|cane|walker|stick|dentures|hearing aid|umbrella|hat|coat|"
    "branch|tree|leaves|leaf|snow|rain|prices|price|temperature|stocks|shares|ornament|toy|"
    "cat|dog|kitten|puppy|bird|budgie|parrot|hamster|rabbit|pet|fish|chicken|it"
)
OBJECT = _rx(
    rf"(把|将)[^，。！？,.!?\s]{{0,4}}({OBJECT_ZH})[^，。！？,.!?\s]{{0,3}}(摔|跌|掉|打|碰|弄)",
    rf"({OBJECT_ZH})[^，。！？,.!?\s]{{0,3}}(摔|跌|掉|滑|倒|着火|冒烟)",
    r"摔(坏|碎|破|烂|裂|成|断|掉|出去)|(摔|打|砸)(东西|碗|杯子|盘子)",
    rf"\b(my|the|a|an|his|her|our|their|that|this)\s+(\w+\s+)?({OBJECT_EN})\b\s+(has\s+|had\s+|just"
    rf"\s+)?"
    r"(fell|fallen|fall|fell off|slipped|collapsed|caught fire|is on fire)",
    r"\b(dropped|knocked|broke|smashed|tipped)\s+(over\s+)?(my|the|a|an|his|her|our)\s+"
    rf"(\w+\s+)?({OBJECT_EN})\b",
    rf"\b(the|a|my)\s+({OBJECT_EN})\s+(is|was)\s+on the floor",
)
# People who are not here with the person: neighbours, friends, strangers, people on TV.
ELSEWHERE = _rx(
    r"邻居|隔壁|对门|楼上|楼下|朋友|同事|同学|老乡|亲戚|别人|人家|有个(老人|老太|老头|大爷|大妈|人"
    r")|一个老人",
    r"王大爷|李大妈|张阿姨|(他|她)们家|小区里|村里|广场上",
    r"\b(neighbou?r|friend|colleague|stranger|someone at|a man|a woman|an old (man|lady|woman)|som"
    r"ebody i know)\b",
)
# Reported from elsewhere: news, television, stories, hearsay.
REPORTED = _rx(
    r"电视|新闻|报纸|报道|广播|视频|抖音|快手|朋友圈|网上|微信群|电影|电视剧|小说|故事|听说|据说|"
    r"听人说|说是",
    r"\bon (the )?(tv|telly|news|radio|telly)\b|\bin the (news|paper|film|movie|show|book|story)\b",
    r"\b(i|we) (read|saw|heard|watched)\b.{0,20}\b(about|that|on|in|a (story|programme|program|sho"
    r"w|film))\b",
    r"\bdocumentary\b|\bnews\b|\bheard (that|about)\b|\bapparently\b",
)
# A question about what to do, or an "if": information, not an alarm.
HYPOTHETICAL = _rx(
    r"如果|要是|万一|假如|假设|一旦|预防|防(止)?摔|防跌|注意(些|点)?(什么|啥)|症状|征兆|前兆|(是|"
    r"有)(什么|啥)(表现|症状)",
    r"(怎么|咋|如何|应该|该)(办|扶|处理|急救|做|打|说|预防|防)|要说(啥|什么)|说(啥|什么)|(号码|电"
    r"话)是多少|多少钱|收费|要钱",
    r"\bif\b|\bwhat if\b|\bin case\b|\bshould (i|we|you|someone)\b|"
    r"\bhow (do|should|can|to|would)\b",
    r"\bwhat (do|should|would) (i|we|you) (do|say)\b|\bwhat to do\b|\bsigns of\b|\bsymptoms of\b|"
    r"\bprevent",
    r"\bwhat number\b|\bhow much\b|\btips\b|\badvice\b|\bclass\b|\bcourse\b|\btalk about\b",
)
# Questions for information about a crisis: a hotline's number, warning signs.
INFO = _rx(
    r"热线|(号码|电话)是多少|怎么(劝|帮|办)|征兆|前兆|\bhotline\b|\bsigns\b|\bhow (do|can|should) "
    r"(i|we) help\b"
)
# It is over: resolved, checked, or fine.
RESOLVED = _rx(
    r"没事(了|儿)?|没啥事|没什么事|没大碍|无大碍|没咋(地|的|样)|没怎么样|没伤(着|到)?|没受伤|没摔("
    r"着|坏|伤)",
    r"(早|已经|都|全)?好(了|多了|利索了)|痊愈|康复|虚惊一场|不要紧|没问题|查了.{0,4}没|检查.{0,6}("
    r"没事|正常|没问题)",
    r"\b(i'?m|i am|he'?s|she'?s|we'?re|they'?re|was|were|is|are) (fine|ok|okay|alright|all right|g"
    r"ood|better)\b",
    r"\bno harm\b|\bnothing broken\b|\brecovered\b|\bhealed\b|\ball (good|better|fine)\b|"
    r"\bfalse alarm\b",
    r"\bturned out (fine|ok|okay)\b|\bchecked (out )?(fine|ok)\b|\bnot hurt\b|\bwasn'?t hurt\b|"
    r"\bno injur",
)
# Long past, or a near miss: nothing to do now.
PAST = _rx(
    r"去年|前年|以前|之前|那年|那次|上次|上回|年轻(的)?时(候)?|小时候|好几年|多年|几年前|几个月前|"
    r"上个月|上(个)?星期|上周",
    r"(摔|跌|晕|中风|心梗)过|\blast (week|month|year|winter|summer|spring|autumn|time)\b|\byears a"
    r"go\b",
    r"\bmonths ago\b|\ba while (ago|back)\b|\bthe other (day|week)\b|\bwhen i was\b|\bused to\b|"
    r"\bonce\b|\bback in\b",
    r"\bhave had\b|\bi'?ve had\b|"
    r"\bhad (a|my) (stroke|fall|heart attack)\b.{0,20}\b(ago|before|last)",
)
# A little: "胸口有点闷" is a question to ask, not yet an ambulance.
MILD = _rx(
    r"有点|有些|一点|稍微|略微|偶尔|时不时|\ba (bit|little)\b|\bslightly\b|\bkind of\b|\bsort of\b"
    r"|\bsometimes\b"
)
NEAR_MISS = _rx(r"差点|差一点|险些|幸亏|好在|还好没|\balmost\b|\bnearly\b|\bclose call\b")
NEGATED = _rx(
    r"没(有)?(摔|跌|倒|晕|滑倒)|不是.{0,3}(摔|晕)|\b(didn'?t|did not|haven'?t|have not|never) "
    r"(fall|fallen|faint|slip|trip)|\bnot (fallen|a fall)\b"
)
# Present and urgent: a hit with these is not over, whatever else is said.
URGENT = _rx(
    r"快|赶紧|马上|现在|刚才|刚刚|还在|一直|来人|救命|帮帮|\bnow\b|\bquick|\bhurry|\bplease come\b"
    r"|\bjust\b|\bstill\b"
)

# A message is read clause by clause; "but" and "但" start a new one.
CLAUSE = re.compile(
    r"[，。！？!?；;,.\n]+|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])|\bbut\b|但是?|不过|可是"
)


def _clause(text: str, start: int, end: int) -> tuple[int, int]:
    """The bounds of the clause holding ``text[start:end]``."""
    left, right = 0, len(text)
    for cut in CLAUSE.finditer(text):
        if cut.end() <= start:
            left = cut.end()
        elif cut.start() >= end:
            right = cut.start()
            break
    return left, right


def _overlaps(pattern: re.Pattern[str], text: str, start: int, end: int) -> bool:
    return any(m.start() < end and start < m.end() for m in pattern.finditer(text))


def read(text: str) -> Reading:
    """What the message's danger words mean (see the module's docstring)."""
    text = text.strip()
    if not text:
        return Reading(None, "empty")
    candidates = [(kind, s, e) for kind, s, e in hits(text)]
    candidates += [(POSSIBLE, m.start(), m.end()) for m in POSSIBLE_WORDS.finditer(text)]
    best: Optional[Reading] = None
    explained: Optional[Reading] = None  # the first danger words read as harmless
    for kind, start, end in sorted(candidates, key=lambda c: c[1]):
        reading = _read_hit(text, kind, start, end)
        if reading.level is None:
            explained = explained or reading
            continue
        if best is None or ORDER.index(reading.level) < ORDER.index(best.level or POSSIBLE):
            best = reading
    if best is not None:
        return best
    if explained is not None:
        return explained
    # No danger words; but words near them, explained away, are kept: the classifier's
    # own danger guess for "乐死我了" or "my cat fell off the sofa" then gives way too.
    for found in NEAR_DANGER.finditer(text):
        why = _explain(text, "near", found.start(), found.end())
        if why is not None:
            return Reading(None, why, found.group())
    return Reading(None, "no danger words")


def _explain(text: str, kind: str, start: int, end: int) -> Optional[str]:
    """Why the words at ``text[start:end]`` are no danger now (None: nothing explains them)."""
    left, right = _clause(text, start, end)
    clause = text[left:right]
    now = bool(NOW.search(clause))
    urgent = now or bool(URGENT.search(clause))
    words = text[start:end]
    # An "if" or a question about what to do: information, even for clear danger words
    # ("nobody would miss me if I were gone" is no question: a crisis speaks in ifs).
    if kind == CRISIS:
        if INFO.search(clause):
            return "question"
    elif HYPOTHETICAL.search(clause) and not _speaks_of_now(clause):
        return "question"
    if _overlaps(IDIOM, text, start, end):
        return "idiom"
    if REPORTED.search(text) and not urgent:
        return "reported"
    if _overlaps(OBJECT, clause, start - left, end - left) or _object_before(clause, start - left):
        return "object"
    if ELSEWHERE.search(clause) and not urgent:
        return "elsewhere"
    if FALL.search(words) and YOUNG.search(clause) and not (now or INJURY.search(text)):
        return "a child's fall"
    if not now:
        if (NEGATED.search(clause) or NEAR_MISS.search(clause)) and not INJURY.search(clause):
            return "near-miss"
        if RESOLVED.search(text) and not URGENT.search(clause):
            return "over"
        if PAST.search(clause) and not URGENT.search(clause):
            return "past"
    return None


def _read_hit(text: str, kind: str, start: int, end: int) -> Reading:
    words = text[start:end]
    why = _explain(text, kind, start, end)
    if why is not None:
        return Reading(None, why, words)
    left, right = _clause(text, start, end)
    clause = text[left:right]
    now = bool(NOW.search(clause))
    if kind == CRISIS:
        return Reading(CRISIS, "crisis", words)
    if FALL.search(words) and not now:
        # A fall: an emergency when it hurt or keeps them down (said anywhere in the
        # message: "我摔倒了 起不来"), else one question.
        hurt = INJURY.search(text) or NOW.search(text)
        return Reading(EMERGENCY if hurt else POSSIBLE, "fall", words)
    if kind == POSSIBLE:
        return Reading(EMERGENCY if now else POSSIBLE, "unwell", words)
    if not now and MILD.search(clause):
        return Reading(POSSIBLE, "mild", words)
    return Reading(EMERGENCY, "danger", words)


def _speaks_of_now(clause: str) -> bool:
    """A question that reports danger happening ("he's unconscious, what do I do")."""
    if re.search(r"如果|要是|万一|假如|假设|一旦|\bif\b|\bwhat if\b|\bin case\b", clause, re.I):
        return False
    # Asking which number to call is no report of danger: the numbers are left out here.
    clause = CALL_WORDS.sub(" ", clause)
    return bool(NOW.search(clause)) and not re.search(
        r"症状|征兆|前兆|预防|\bsigns\b|\bsymptoms\b|\bprevent", clause, re.I
    )


CALL_WORDS = re.compile(
    r"救护车|急救电话|(?<!\d)(120|911|999|112)(?!\d)|\bambulance\b|\bcall\b|\bdial\b",
    re.I,
)
# Children fall all day: a grandchild's fall is news unless it hurt them.
YOUNG = _rx(
    r"孙子|孙女|外孙|重孙|孩子|小孩|娃|宝宝|\bgrand(son|daughter|kids?|child(ren)?)\b|\bkids?\b|\b"
    r"toddler\b|\bbaby\b"
)
_SUBJECT_ZH = re.compile(rf"({OBJECT_ZH})[了的也都又]?$")
_SUBJECT_EN = re.compile(rf"\b({OBJECT_EN})\s+(has\s+|had\s+|just\s+|also\s+)?$", re.I)


def _object_before(clause: str, at: int) -> bool:
    """The word just before a fall is a thing or an animal: "猫摔了", "the vase fell"."""
    before = clause[max(0, at - 12) : at]
    return bool(_SUBJECT_ZH.search(before) or _SUBJECT_EN.search(before))


# Answers to "are you hurt, do you need help?" ------------------------------------------

FINE = _rx(
    r"没事|没啥事|没有(?!人)|没伤|没受伤|没摔(着|坏|伤)|不疼|不痛|不用|不要(?!人)|不需要|(?<!不)能"
    r"起来",
    r"(?<!不)起来了|自己起|站起来了|(?<!不)好(的|了|多了)?|还好|挺好|(?<!不)可以|放心|没大碍|没关"
    r"系",
    r"不要紧|没问题",
    r"\b(i'?m|i am|we'?re|he'?s|she'?s) (fine|ok|okay|alright|all right|good|not hurt)\b|\bno\b|"
    r"\bnope\b",
    r"\bnot hurt\b|\bgot up\b|\bcan get up\b|\bfine\b|\bok(ay)?\b|\ball good\b|\bno need\b",
    r"\bdon'?t need\b|\bdo not need\b|\bno thanks\b|\bno,? thank you\b",
)
HELP = _rx(
    r"起不来|动不了|站不起来|爬不起来|疼|痛|流血|出血|骨折|肿|晕|难受|不行|救命|帮(我|帮|忙)|快来|"
    r"来人|叫人",
    r"需要|要人|是的?|对|嗯|摔(伤|着)|磕|撞|120|救护车|不能|没法|不(太)?好|不舒服|不对劲",
    r"\bhelp\b|\byes\b|\byeah\b|\byep\b|\bplease\b|\bhurt|\bpain|\bbleed|\bcan'?t\b|\bcannot\b",
    r"\bcome\b|\bneed\b|\bambulance\b|\bnot (ok|okay|good|well|fine|great)\b|\bbroken?\b",
)


def read_check_answer(text: str) -> str:
    """An answer to "are you hurt, do you need help?": ``help``, ``fine`` or ``unclear``.

    Help wins when both are said ("没事 就是腿有点疼"): what is left once the reassuring
    phrases are taken out is read for harm, so "不疼" is fine and "不疼 就是起不来" is not.
    """
    text = text.strip()
    if not text:
        return "unclear"
    rest = FINE.sub(" ", text)
    if HELP.search(rest) or NOW.search(text):
        return "help"
    return "fine" if rest != text else "unclear"
