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
    """One pattern of alternatives; a part may go on the previous one's group with "|…"."""
    return re.compile("|".join(p.removeprefix("|") for p in parts), re.IGNORECASE)


# Clear danger now: no context explains these away (only a question about "what if").
NOW = _rx(
    r"起不来|起不了身|爬不起来|站不起来|动不了|动弹不了|叫不醒|喊不醒|推不醒|没(了)?意识|不省人事",
    r"昏(迷|过去)|晕过去|喘不(上|过|动)|上不来气|透不过气|呼吸(困难|不了)|救命|快来人|来人啊",
    r"快(叫|打|送).{0,4}(120|救护车|医院)|(打|叫)120|救护车|流血不止|血止不住|止不住血|大出血",
    r"着火|冒烟|煤气味|燃气味|(煤气|燃气|天然气)(泄漏|漏)|噎住|卡住嗓子|抽(过去|风)|口吐白沫",
    r"嘴(歪|角歪)|口眼歪|说不出话|半边(身子)?(不能动|没劲|麻)|胸口(剧痛|疼得|痛得)",
    r"\bcan'?t (get up(?!\s+(the )?(stairs|steps|hill|as\b|early))|move|breathe|wake (him|her))",
    r"|\bwon'?t wake|\bnot (breathing|waking)",
    r"\bunconscious\b|\bnot responding\b|\bunresponsive\b|\bcollapsed\b|\bpassed out\b",
    r"\bhelp\s*(me|us)?\s*(now|please|!)|^\W*help\W*$|\bsos\b|\bambulance\b|"
    r"\b(call|dial) (911|999|112|120)",
    r"\b(bleeding|blood)\b.{0,20}\b(won'?t|doesn'?t|can'?t) stop|\bchoking\b|\bseizure|"
    r"\bfit\b.{0,6}now",
    r"\b(fire|smoke|gas)\b.{0,12}\b(kitchen|house|flat|room|now|everywhere)|\bsmell(s)? (of )?gas",
    r"\bon fire\b.{0,12}\b(kitchen|house|pan|stove)|\bthere'?s a fire|\bchest pain|\bcrushing",
    r"\bface (is )?droop|\bslurr|\bnumb on one side|\bweak on one side|"
    r"\bon the floor\b.{0,20}\bcan'?t",
    # Signs of danger now in any words: no response, no breath, blood brought up, poison
    # taken, fire spreading, someone breaking in, heat or cold that confuses.
    r"(叫|喊|招呼)(他|她|你|我|俺|人)?(也|都|半天){0,2}不(应|答应|吱声)|怎么(叫|喊|摇)都不|一动不动|翻白眼",
    r"|眼(睛|珠)?(往上)?翻|"
    r"没反应|没(了)?呼吸|不(喘|出)气|脸(发紫|发青|青紫)|嘴唇(发紫|发青)|(吐|咳|咯|便|拉).{0,4}血",
    r"|(腿|腿脚|半边|身子|下半身)没(了)?知觉|拽不动|扶不起来|抬不动|突然.{0,6}(看不见|看不清|说不出)",
    r"|火苗|(油|锅|窗帘|被子|床).{0,4}(烧|着)起来|烟.{0,4}(进|呛|满|灌)|说胡话|浑身滚烫|口吐白沫",
    r"|(喝|吃|吞)了.{0,6}(农药|敌敌畏|百草枯|老鼠药|洗洁精|消毒水|84|漂白)",
    r"|(吃|吞|喝)了.{0,3}一把|一把.{0,4}(药|片)|(撬|砸)(门|锁|窗)|(小偷|坏人|有人).{0,6}(闯|撬|砸)",
    r"|冻得.{0,8}(说不清|不清醒|叫不应)|骨头.{0,4}(错位|露出来|戳出来)|头破|流了?(好多|很多|一地)血",
    r"|\b(not|isn'?t|stopped|hasn'?t been) breathing\b|\b(went|gone|is) limp\b|\bno pulse\b",
    # Grey or blue: of a face or lips, not of hair.
    r"|\b(face|lips|skin|he'?s|she'?s|hes|shes|he|she)\b.{0,12}\b(turning|gone|going|turned) "
    r"(blue|grey|gray)\b(?!.{0,30}\b(hair|dyes?|roots|gracefully)\b)",
    r"|\bfrothing\b|\bfighting for (every )?breath",
    r"|\bcan'?t lie down\b|\b(vomiting|coughing|throwing) (up )?blood|\bblood in (his|her|my)",
    r"|\bpouring (with )?blood|\bwon'?t grip|\bcan'?t see out of",
    r"|\blost (my|his|her) (sight|vision)",
    r"|\bsudden(ly)? (can'?t|cannot) (see|speak|talk|move)|\bcarbon monoxide|\bco alarm\b",
    r"|\b(curtains|house|kitchen|room|bed|sofa|couch|chip pan) (is |are )?(on fire|burning)",
    r"|\bflames\b|\bbreaking in\b|\bbroken in\b|\bsmashing (my|the) (\w+ )?(door|window)",
    r"|\bintruder",
    r"|\b(whole|entire) (week|box|bottle|packet) of (my |his |her )?(pills|tablets|medication)",
    r"|\bswallowed (bleach|poison|the whole)|\bheat ?stroke\b|\bhypotherm",
    # Fits, allergic swelling, breathing failing, very low blood sugar, lost and not knowing
    # where, poisonous mushrooms, heart pain that spreads.
    r"|\b(hes|shes|he'?s|she'?s|is|keeps|started|been|i'?m) (\w+ )?jerking\b",
    r"|\bfoam(ing)? (at|from|coming out)|\bhard to (rouse|wake)\b|\bcan'?t rouse",
    r"|\bthroat'?s? (is )?(closing|swelling|tight)",
    r"|\b(lips|tongue|face) (is |are )?(swelling|swollen)",
    r"|\bbre?a?thing\b.{0,16}\b(slow|shallow|worse|noisy|rattly)\b|\bplease help\b",
    r"|\bclutching (his|her|my) chest\b|\b(goes|going|spreads?) (up )?into (his|her|my) (jaw|arm)",
    r"|\b(he'?s|she'?s|hes|shes|he|she|face)( is| has)? (gone |going |turned |turning )?"
    r"(grey|gray)\b(?!.{0,30}\b(hair|dyes?|roots)\b)",
    r"|卡(住|在)?嗓子(眼)?了",
    r"|\bcan'?t (seem to )?(catch|get) (my|his|her) breath|\blips\b.{0,15}\b(blue|grey|gray)\b",
    r"|\b(is|he'?s|she'?s|hes|shes|lying|lay|just) (\w+ )?not moving\b",
    r"|\bslumped (over|on|in|against)",
    r"|\b(barely|hardly) breathing\b|\bisn'?t (waking|breathing|responding)\b",
    r"|\b(blood sugar|sugar|glucose|bm)\D{0,10}\b[0-2]\.\d\b|血糖\D{0,8}(?<![\d.])[0-2]\.\d",
    r"|\bdon'?t know where (i|she|he) (am|is)\b|\bcan'?t find (my|his|her) way (home|back)\b",
    r"|不知道自己在哪|找不(着|到)家|这是哪(儿|里)?啊?.{0,6}(冷|黑)",
    r"|毒蘑菇|(吃|采)(了)?.{0,8}蘑菇.{0,16}(吐|泻|麻|晕)|喉咙(发紧|肿)|嗓子眼?(发紧|肿了)|(嘴唇|舌头)肿",
    r"|(心口|胸口|胸).{0,12}(疼|痛).{0,8}(后背|胳膊|左手|下巴)",
    r"(心脏|心口|胸口|胸)(子)?.{0,3}(疼|痛)(得|死|好|厉害)|(心脏|心口)(子)?(好|很|特别)(疼|痛)",
    r"|挪不(过去|动)了?|(炉子|煤炉|炭盆|炭火|烧炭|蜂窝煤).{0,20}(头疼|头痛|头晕|恶心|迷糊|发软)",
    # Pinyin, as some type when characters are too slow.
    r"|\bjiu ?ming\b|\bqi bu lai\b|\bjiao bu xing\b|\bliu (hen duo |hao duo )?xue\b",
    r"|\btou po\b|\bchuan bu (shang|guo) ?qi\b|\bxiong ?kou (teng|tong)\b",
)
# A fall's injury, or its harm: these make a fall an emergency, not a question.
INJURY = _rx(
    r"疼|痛|流血|出血|血|骨折|骨头|断了|肿|青|紫|磕(到|着|破|了)|撞(到|着|了)|碰(到|着)了?头|头(破|晕)",
    r"起不来|动不了|站不起来|站不住|爬不起来|走不了|不能走|晕|昏|躺(在)?地|(地上|地板上).{0,4}(躺|趴)",
    r"腰|胯|髋|腿|胳膊|手腕|脑袋|后脑",
    r"\bhurt|\bpain|\bache|\bbleed|\bblood|\bbroke|\bbroken|\bfracture|\bswoll|\bbruis|\bhip\b",
    r"\bwrist\b|\bhit (my|his|her) head|\bbanged|\bcan'?t (get up|move|stand|walk|put weight)",
    r"\bstuck\b|\bdizzy|\bon the (floor|ground)\b|\blying\b|\bcrying\b|\bwon'?t (move|get up)",
    r"没知觉|弯不了|挪不|错位|肿起来|\blegs? (won'?t|don'?t|wouldn'?t) (work|move)",
    r"|\bcan'?t (lift|move) (him|her)\b|\bnot (moving|talking|responding)\b|\bcan'?t feel\b",
    r"|\bbent the wrong way\b|\bscream|\bpupils?\b",
)
# Injury words denied: "不疼", "没流血", "nothing broken".
UNHURT = _rx(
    r"不(怎么|太|是很)?(疼|痛|肿)|没(有)?(流血|出血|骨折|受伤|伤着|磕着|撞着|碰着|晕)|没(那么|怎么)(疼|痛)",
    r"\bno (pain|blood|bleeding)\b|\bnot (hurt|bleeding|in pain)\b|\bnothing (is )?broken\b",
    r"\bdoesn'?t hurt\b|\bdidn'?t hurt\b|\bdidn'?t (hit|bang) (my|his|her) head\b",
)
# The danger words that are a fall (what a fall means depends on INJURY).
FALL = _rx(
    r"摔|跌|滑倒|栽倒|绊倒|倒在|倒地|一脚没踩(住|稳)|没站稳|踩空",
    r"\bfell\b|\bfallen\b|\bfall\b|\bslipp?ed\b|\btripped\b",
)
# Possible danger without any of the floor's words: one question, not an alarm.
POSSIBLE_WORDS = _rx(
    r"头(晕|昏)|晕乎|眩晕|天旋地转|眼(前)?发花|胸口.{0,3}(闷|发紧|不舒服|压着)|心(慌|里发慌|口发慌)",
    r"心跳.{0,3}(快|乱|不齐)|(特别|非常|很|好|太|真|浑身|全身).{0,2}(难受|不舒服|没劲|无力)",
    r"喘(气)?(有点)?(急|粗|费劲)|发(高)?烧|烧得|上吐下泻|吐了好几|拉(肚子|稀).{0,4}(厉害|好几)",
    r"(摔|跌|滑)了?(一跤|一下|个跟头|倒了?)|绊了一跤|一脚没踩(住|稳)|踩空|没站稳|不太对劲|不对劲",
    r"\bdizzy\b|\blight-?headed\b|\b(room|head) (is )?spinning|\bpalpitation",
    r"\bheart (is )?(racing|pounding)|\bvomit|\bthrowing up\b|\bfever\b|\bhigh temperature\b",
    r"\bchest (feels )?(a (bit|little) |kind of |sort of )?(tight|heavy|funny|strange)",
    r"\b(feel|feeling) (really |very |so |quite )?(unwell|awful|terrible|faint|weak|strange|funny)",
    r"\b(feel|feeling) (really |very |so |quite )?(sick|ill|poorly)\b|\bnot (feeling|doing) (well",
    r"|right|too good)|\b(had|took) a (fall|tumble)\b|\bi (fell|slipped|tripped)\b|\bnot right\b",
    r"心里.{0,3}慌|(心)?跳得(很|好|特别)?(快|厉害)|不得劲|难受得(很|厉害|不行)|(肚子|胃|头)(疼|痛)",
    r"|(?<!心里)不舒服|脸色(不好|发白|蜡黄|不对|难看)|(有点|老|突然)糊涂|迷迷糊糊",
    r"\bwoozy\b|\bwent down\b|\b(bit|little) off\b|\bnot (him|her|my)self\b",
    r"|\bacting (a bit |a little |very )?(strange|odd|funny|confused|oddly|strangely)",
    r"|\bconfused\b|\bnot feeling (great|good)\b|\bunder the weather\b|\bpoorly\b",
)

# Words near danger that the floor leaves alone ("摔过", "乐死", "fell off", "falls"): read
# only to explain away a classifier's guess.
NEAR_DANGER = _rx(
    r"摔|跌|滑倒|晕|死|血|火|烟|煤气|中毒|中风|心脏|胸口|救命|120|急救|救护车|不想活|走了|去世",
    r"|过世|扫墓|上坟|喘|噎|呛|倒了|摔不着|\bpassed\b|\bgrave\b|\bchok|\bdropped\b|\bcracked\b",
    r"|\bcollapsed\b|\bbroke\b|\bpendant\b|\balarm\b",
    r"\bfall|\bfell\b|\bfallen\b|\bslip|\btrip|\bdie|\bdying\b|\bdead\b|\bdeath\b|\bkill",
    # "Blood sugar 2.3, shaky" is a reading, not a word near danger to be explained away.
    r"\bhurt|\bblood\b(?!\s+(pressure|sugar|test|glucose))|\bbleed|\bfire\b|\bsmoke|\bgas\b",
    r"\bheart\b|\bstroke\b|\bfaint|\bbreath|\bambulance\b|\bemergency\b|\bhelp\b|\bchest\b",
    r"\bunconscious\b|\bcollapse",
)
# Hyperbole: 死 and "die" as intensifiers, and idioms that hold a danger word.
IDIOM = _rx(
    r"[乐笑忙累饿冻热困烦气吓急馋渴美羡闷臭香撑痒酸晒挤吵丑懒愁]死(了|我了|人了|俺了|啦|我啦|个人)?",
    r"想死(你|您|你们|咱|他|她|它|我了|俺了|孩子|孙|宝|大家)",
    r"(?<![着跟随])(你|他|她|他们)(就)?去死|跳楼(价|甩卖|大甩卖)|摔门|摔跤(比赛|运动|节目|手)|看摔跤|摔打",
    r"心脏病(都)?(要|快)?(被)?(吓|气)出来|(急|吓|气)出心脏病|吓(得|出)?.{0,2}心脏病|差点(没)?(把我)?(吓|气)(死|晕)",
    r"气(得|的).{0,2}(晕|吐血|半死)|(笑|乐)(得|的).{0,3}(肚子疼|喘不上气|岔气)",
    r"救命稻草|中风(险|期)|了结(这|那)?(件|桩)?事|(做个|做一个)了断",
    r"\bdying (to|for)\b|\bto die for\b|\bkilling me\b|\bkills me\b",
    r"\bdie (of|from) (laughing|embarrassment|shame)|\bcould (have )?die[d]? (laughing|happy)",
    r"\b(almost|nearly) (gave|give|had) (me )?a heart attack|\bheart attack (on a plate|in a bowl)",
    r"\bgive (me|you|him|her|us) a (stroke|heart attack)\b|\bstroke of (luck|genius)",
    r"\bstrok(e|ed|ing) (the|my|her|his) (cat|dog|hair|head)",
    r"\bfaint(ly)?\b (smell|sound|hope|idea|memory|light|line|voice|chance|praise|trace)",
    # "On fire" of a person is praise, of a mouth or feet is hyperbole; of a room, a fire.
    r"\bfaint-hearted|\bfired up\b|\b(i'?m|i am|you'?re|you are|he'?s|she'?s|we'?re|they'?re",
    r"|(i|you|he|she|we|they|team|side) (was|were|is|are)) (\w+ )?on fire\b",
    r"|\b(mouth|tongue|throat|lips|feet|legs|knees|back|joints|hands) (is |are |were |was )?"
    r"(\w+ )?on fire\b",
    r"\bcease-?fire\b|\bchoking (up|back)|\bchoking hazard",
    r"\bfell (asleep|for|in love|behind|off the wagon|through)",
    r"\bfall (asleep|for|in love|behind|season|colou?rs|leaves)|\bin the fall\b|\bthis fall\b",
    r"\blast fall\b|\bkill(ing)? (myself|me) (laughing|with work)|\bcould sleep forever",
    r"\b(emergency|ambulance|fire) (exit|kit|contact|number|services|station|drill|plan|alarm",
    r"|button|pendant|cord|call)s?\b",
    r"\b(blood|bleeding) (pressure|test|sugar)\b(?!\D{0,10}\b[0-2]\.\d)",
    r"\bhelp (me|us) (with|to|book|find|choose|decide|understand)",
    # 120, 110, 119 as amounts: a price, a blood pressure, a room ("血压120", "120块").
    r"(血压|高压|低压|收缩压|舒张压|心率|心跳|脉搏|第|房间|门牌|花了|才|\d\s*/\s*|pressure|rate",
    r"|room|page|bus|number)\s*(是|有|到|了)?\s*(120|110|119)(?!\d)",
    r"(?<!\d)(120|110|119)\s*(块|元|斤|岁|号|分|页|米|公里|ml|mg|度|次|天|个|多|克|毫|/|路|rmb",
    r"|yuan|dollars|pounds|kg|lbs|mmhg|bpm|over|分钟|平|楼|室)",
)
# Things that fall and break, and animals: 我把暖壶摔了, "my phone fell off the table". Nouns
# of two characters or more, or single ones no sentence about a person uses (饭 would catch
# "做饭时摔了").
OBJECT_ZH = (
    "碗|杯子|盘子|碟子|暖壶|暖瓶|热水瓶|保温杯|水杯|茶杯|瓶子|罐子|花瓶|花盆|锅|手机|电话|眼镜|"
    "镜子|遥控器|电视|相框|闹钟|手表|台灯|东西|药瓶|盒子|箱子|椅子|凳子|钥匙|鸡蛋|玻璃|收音机|"
    "拐杖|助行器|假牙|助听器|雨伞|帽子|树枝|树叶|叶子|价格|股票|温度|晾衣杆|衣架|老花镜|镜|屏幕|"
    "电饭锅|水壶|书架|架子|柜子|花|烤箱|微波炉|"
    "猫|狗|鸟|鹦鹉|宠物|猫咪|小狗|狗狗|小猫|金鱼|兔子"
)
OBJECT_EN = (
    "phone|cup|mug|glass|glasses|plate|bowl|vase|pot|pan|jar|bottle|flask|thermos|remote|tv|"
    "picture|frame|clock|watch|lamp|book|books|box|bag|keys|egg|eggs|chair|shelf|mirror|kettle|"
    "teapot|dish|dishes|tray|radio|cane|walker|stick|dentures|hearing aid|umbrella|hat|coat|"
    "branch|tree|leaves|leaf|snow|prices|price|stocks|shares|ornament|toy|"
    "screen|toaster|shelves|books|oven|microwave|fence|"
    "cat|dog|kitten|puppy|bird|budgie|parrot|hamster|rabbit|pet|fish|chicken|lab|labrador|"
    "terrier|spaniel|collie"
)
OBJECT = _rx(
    rf"(把|将)[^，。！？,.!?\s]{{0,4}}({OBJECT_ZH})[^，。！？,.!?\s]{{0,3}}(摔|跌|掉|打|碰|弄)",
    # Not what someone carried when they fell: "抱着猫摔了", "去拿东西摔了".
    rf"(?<![着拿抱提背牵搬])({OBJECT_ZH})[^，。！？,.!?\s]{{0,4}}(摔|跌|掉|滑|倒)",
    r"摔(坏|碎|破了(?!头|皮)|烂|裂|成|断了?(?!腿|胳膊|骨)|掉|出去)|(摔|打|砸)(东西|碗|杯子|盘子)",
    rf"\b(my|the|a|an|his|her|our|their|that|this)\s+(\w+\s+)?({OBJECT_EN})\b('s)?\s*(\w+ly\s+)?(has\s+|had\s+",
    r"|just\s+|is\s+)?(fell|fallen|fall|fell off|slipped|collapsed|choking|not moving",
    r"|isn'?t moving|died|broke|broken|cracked)",
    r"\b(dropped|knocked|broke|smashed|tipped)\s+(over\s+)?(my|the|a|an|his|her|our)\s+"
    rf"(\w+\s+)?({OBJECT_EN})\b",
    rf"\b(the|a|my)\s+({OBJECT_EN})\s+(is|was)\s+on the floor",
)
# People who are not here with the person: neighbours, friends, strangers, people on TV.
ELSEWHERE = _rx(
    r"邻居|隔壁|对门|楼上|楼下|朋友|同事|同学|老乡|亲戚|别人家|有个(老人|老太|老头|大爷|大妈|人)",
    r"|一个老人|(他|她)们家|小区里|村里|广场上|表(姐|哥|妹|弟)|(她|他)(婆婆|公公|妈|爸)|住院",
    r"|老(张|王|李|刘|赵|陈|孙|周|吴|郑)(头|太|家)?|(在|从)(上海|北京|广州|深圳|外地|国外|老家|医院)",
    r"|\b(in|at) (hospital|church)\b|\bfrom (church|the club|the centre)\b",
    r"|\bmy (son|daughter|brother|sister|cousin|nephew|niece|grandson|granddaughter) (in|at) \w+",
    r"\b(neighbou?r|friend|colleague|stranger|someone at|a man|a woman|an old (man|lady|woman)",
    r"|somebody i know)\b",
)
# Reported from elsewhere: news, television, stories, hearsay.
REPORTED = _rx(
    # "看着电视突然不吭声了" is no report: the television must be where it was told.
    r"电视(上|里|剧|新闻|节目)|新闻|报纸|报道|广播|视频|抖音|快手|朋友圈|网上|微信群|电影|小说|故事|听说",
    r"|据说|听人说",
    r"\bon (the )?(tv|telly|news|radio)\b",
    r"\bin the (news|paper|papers|film|movie|show|book|story)\b",
    r"\b(i|we) (read|saw|heard|watched) (about|that|on (the )?(tv|telly|news|radio|internet|web)",
    r"|in the (paper|papers|news)|an? (story|programme|program|show|film|article|documentary))\b",
    r"\bdocumentary\b|\bthe news\b|\bheard (that|about)\b",
    r"\b(i|we) (watched|were watching) \w+ (tonight|last night|earlier|today|yesterday)\b",
    # Not a bare "heard" ("I heard a crash"), nor watching when it happened here ("watching
    # telly and he just collapsed").
    r"\b(a|the) (programme|program|show|series|episode)\b|\bon telly\b",
    r"\bwatching\b(?!.{0,30}\b(when|and (he|she|i|then|suddenly)|suddenly|then)\b)",
)
# An "if", a question about someone in general, or one for information: not an alarm. A
# bare "what do I do" is no such question: it is how panic asks for help.
CONDITIONAL = _rx(
    r"如果|要是|万一|假如|假设|一旦|\bif\b|\bwhat if\b|\bin case\b|\bsupposing\b|\bshould (someone",
    r"|somebody|a person|my \w+)\b",
)
INFO_QUESTION = _rx(
    r"预防|防(止)?摔|防跌|注意(些|点)?(什么|啥)|症状|征兆|前兆|(是|有)(什么|啥)(表现|症状)",
    r"|要说(啥|什么)|说(啥|什么)好|(号码|电话)是多少|多少钱|收费|要钱|怎么(打|叫)(120|救护车)",
    r"\bsigns of\b|\bsymptoms of\b|\bprevent|\bwhat number\b|\bhow much\b|\btips\b|\badvice\b",
    r"\bclass\b|\bcourse\b|\btalk about\b|\bwhat do (i|you) say\b|\bhow do (i|you) (call|ring)",
    r"是(120|119|110)还是|还是(120|119|110)|是不是(得|要|该)|要不要|该不该|(随身)?带着",
    r"|\bshould i (get|buy|have|keep|carry)\b|\bhow often\b|\bwhich number\b",
    r"|\bwhat do they (ask|say|want)\b|\bwhen (i|you) (ring|call|dial)\b",
)
GENERIC_QUESTION = _rx(
    r"(老人|老年人|有人|一个人|人)[^，。！？,.!?]{0,8}(怎么|咋|如何|应该|该)",
    r"\b(someone|somebody|a person|people|an older person|the elderly|elderly people)\b.{0,40}\?",
    r"\bhow (do|should|can) (you|i|we|one) (help|lift|move|treat)\b",
)
# Questions for information about a crisis: a hotline's number, warning signs.
INFO = _rx(
    r"热线|(号码|电话)是多少|怎么(劝|帮)|征兆|前兆|\bhotline\b|\bsigns\b",
    r"\bhow (do|can|should) (i|we) help\b",
)
# It is over: resolved, checked, or fine.
RESOLVED = _rx(
    r"没事(了|儿)?(?![吧吗嘛呀?？])|没啥事|没什么事|没大碍|无大碍|没咋(地|的|样)|没怎么样",
    r"|没伤(着|到)|没受伤|没摔(着|坏|伤)",
    r"(早|已经|都|全|早就|基本)好(了|多了|利索了)|好多了|好利索了|痊愈|康复了|虚惊一场",
    r"|查了.{0,4}没|检查.{0,6}(没事|正常|没问题)",
    r"\b(i'?m|i am|he'?s|she'?s|we'?re|they'?re|was|were|is|are) (fine|ok|okay|alright",
    r"|all right|good|better)( now)?\b(?!\?)",
    r"\bno harm\b|\bnothing broken\b|\brecovered\b|\bhealed\b|\ball (good|better|fine)\b",
    r"\bfalse alarm\b|\bturned out (fine|ok|okay)\b|\bchecked (out )?(fine|ok)\b|\bnot hurt\b",
    r"\bwasn'?t hurt\b|\bno injur|\bturned out to be\b|\ball clear\b",
    r"|\b(he'?s|she'?s|they'?re|i'?m|is|are) (back )?home now\b|没(啥)?毛病|\bstable\b",
    r"|\bup and (about|dancing|walking)\b|\bright as rain\b",
    r"好好的|(咽|喝|吞)下去了|不(晕|疼|痛|喘)了|关(了)?火|恢复得(挺|很|还)?好|已经吃(过)?药了|虚惊",
    r"|\ball sorted\b|\bsorted now\b|\bit went down\b|\bwent down (fine|ok|okay|all right)",
    r"|\bcoughed it (up|out)|\bphew\b",
    r"|\bdoing (ok|okay|well|fine|better)\b|\brecovering\b|\bon the mend\b",
)
# Long past: nothing to do now.
PAST = _rx(
    r"去年|前年|那年|上次|上回|年轻(的)?时(候)?|小时候|好几年|多年|几年前|几个月前|上个月",
    r"|上(个)?(星期|礼拜)|上周|(摔|跌|晕|中风|心梗)过",
    r"\blast (week|month|year|winter|summer|spring|autumn|time)\b|\byears ago\b|\bmonths ago\b",
    r"\ba while (ago|back)\b|\bthe other (day|week)\b|\bwhen i was\b|\bused to\b|\bback in\b",
    # Not "I've had": "I've had a fall in the garden, my wrist is bent" is now.
    r"\bhad (a|my) (stroke|fall|heart attack)\b.{0,20}\b(ago|before|last)",
    r"\b(in|since) (19|20)\d\d\b|(19|20)\d\d年|\bevery (christmas|year)\b|清明|扫墓|上坟|忌日|周年",
)
# A little: "胸口有点闷" is a question to ask, not yet an ambulance.
MILD = _rx(
    r"有点|有些|一点|稍微|略微|偶尔|时不时|\ba (bit|little)\b|\bslightly\b|\bkind of\b",
    r"\bsort of\b|\bsometimes\b",
)
NEAR_MISS = _rx(r"差点|差一点|险些|吓了一跳|\balmost\b|\bnearly\b|\bclose call\b|\bscare\b")
# Already cared for: in hospital, with the doctors.
CARED_FOR = _rx(
    r"住院了|在医院|送(到)?医院了|医生(说|在)|\bin hospital\b|\bat the hospital\b|\bthe vet\b",
    r"\bvet says\b|\bdoctors? (are|is|was|were) with\b",
)
NEGATED = _rx(
    r"没(有)?(摔|跌|倒|晕|滑倒)|不是.{0,3}(摔|晕)|(摔|跌)不(着|了|倒)|不会(摔|跌)|"
    r"\b(didn'?t|did not|haven'?t|have not|never) "
    r"(fall|fallen|faint|slip|trip)|\bnot (fallen|a fall)\b|\b(won'?t|can'?t) fall\b"
)
# Present and urgent: a hit with these is not over, whatever else is said.
URGENT = _rx(
    r"快|赶紧|马上|现在|刚才|刚刚|还在|一直|来人|救命|帮帮|怎么办|咋办|\bnow\b|\bquick|\bhurry",
    r"\bplease come\b|\bjust\b|\bstill\b|\bwhat do i do\b|\bwhat should i do\b",
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


# One spelling for what phones and people write many ways: curly apostrophes, "cannot".
_SPELLINGS = (
    (re.compile("[\u2018\u2019\u02bc\uff07`´]"), "'"),
    (re.compile(r"\b(?:cannot|can not|could not|couldn'?t)\b", re.I), "can't"),
    (re.compile(r"\b(?:will not|wouldn'?t|would not)\b", re.I), "won't"),
    (re.compile(r"\b(?:do not)\b", re.I), "don't"),
)


def normal(text: str) -> str:
    """``text`` with the spellings the patterns read (above) made one."""
    for pattern, spelling in _SPELLINGS:
        text = pattern.sub(spelling, text)
    return text.strip()


def read(text: str) -> Reading:
    """What the message's danger words mean (see the module's docstring)."""
    text = normal(text)
    if not text:
        return Reading(None, "empty")
    candidates = [(kind, s, e) for kind, s, e in hits(text)]
    candidates += [(POSSIBLE, m.start(), m.end()) for m in POSSIBLE_WORDS.finditer(text)]
    candidates += [(EMERGENCY, m.start(), m.end()) for m in NOW.finditer(text)]
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
    near = [*NEAR_DANGER.finditer(text), *OBJECT.finditer(text), *REPORTED.finditer(text)]
    for found in near:
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
    elif CONDITIONAL.search(clause) or INFO_QUESTION.search(clause):
        if not _speaks_of_now(clause):
            return "question"
    elif GENERIC_QUESTION.search(clause) and not urgent:
        return "question"
    if _overlaps(IDIOM, text, start, end):
        return "idiom"
    if REPORTED.search(text) and not URGENT.search(text):
        return "reported"  # what happened to someone else, told: even "喘不上气"
    fallish = bool(FALLISH.search(words))
    if _overlaps(OBJECT, clause, start - left, end - left) or (
        fallish and _object_before(clause, start - left)
    ):
        return "object"
    if kind == CRISIS:
        return "past" if PAST.search(clause) and not URGENT.search(clause) else None
    if CARED_FOR.search(text) and not URGENT.search(text):
        return "cared for"
    if ELSEWHERE.search(clause) and not urgent and not FIRE.search(words):
        return "elsewhere"  # a fire next door is not elsewhere: it spreads
    if FALL.search(words) and YOUNG.search(clause) and not (now or INJURY.search(text)):
        return "a child's fall"
    if not now:
        if (NEGATED.search(clause) or NEAR_MISS.search(clause)) and not INJURY.search(clause):
            return "near-miss"
        if RESOLVED.search(text) and not URGENT.search(clause):
            return "over"
        if PAST.search(clause) and not URGENT.search(clause):
            return "past"
    elif _resolved_after(text, right) and not URGENT.search(clause):
        return "over"  # "had a choking scare at lunch but it went down, all good now"
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
        unhurt = UNHURT.sub(" ", text)  # "不疼", "没流血": said, but not hurt
        hurt = INJURY.search(unhurt) or NOW.search(unhurt)
        return Reading(EMERGENCY if hurt else POSSIBLE, "fall", words)
    if kind == POSSIBLE:
        return Reading(EMERGENCY if now else POSSIBLE, "unwell", words)
    if not now and MILD.search(clause):
        return Reading(POSSIBLE, "mild", words)
    return Reading(EMERGENCY, "danger", words)


def _resolved_after(text: str, end: int) -> bool:
    """Danger words, then in a later clause that it is over (not a question)."""
    return any(m.start() >= end for m in RESOLVED.finditer(text))


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
_SUBJECT_EN = re.compile(
    rf"\b({OBJECT_EN})\s+(has\s+|had\s+|just\s+|also\s+|are\s+|is\s+|were\s+|was\s+)?$", re.I
)
FIRE = _rx(r"火|烟|煤气|燃气|天然气|\bfire\b|\bflames?\b|\bsmoke|\bgas\b|\bburning\b")
# What a thing or an animal can do that a person in danger does too.
FALLISH = _rx(
    r"摔|跌|掉|倒|滑|\bfell\b|\bfall|\bslipp?ed\b|\bcollapsed\b|\bchoking\b|\bon the floor\b"
)


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
    r"没(有)?(流血|出血|骨折|磕着|撞着|碰着|摔伤|晕|伤筋动骨)|不(晕|难受)了?|没(那么|怎么)(疼|痛)",
    r"\bno (blood|bleeding|pain)\b|\bnot bleeding\b|\bnothing (is )?broken\b",
    r"\bdidn'?t (hit|bang) my head\b|\bjust a (bruise|graze|scrape)\b",
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
    text = normal(text)
    if not text:
        return "unclear"
    rest = FINE.sub(" ", text)
    if HELP.search(rest) or NOW.search(text):
        return "help"
    return "fine" if rest != text else "unclear"
