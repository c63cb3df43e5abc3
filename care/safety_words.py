"""Words that mean danger, whatever the classifier thinks: emergency first, then crisis.

Safety-critical recall cannot rest on a statistical classifier alone (5-fold
cross-validation missed "帮俺叫120", "call an ambulance", "i want to kill
myself"). These patterns are a floor under it: anything they match is treated
as an emergency or a crisis. They favour recall — a false alarm costs a staff
member a look; a missed one can cost a life. Pure, fixed-vector tested.
"""

from __future__ import annotations

import re
from typing import Optional

_EMERGENCY_ZH = (
    r"(?<!\d)(?:120|110|119)(?!\d)|救命|救救(?:我|俺|他|她)|快来人|来人啊"
    r"|^\W*(?:快)?帮帮(?:我|俺)\W*$|摔(?:倒|了|一跤|跤|地上|着了)|跌(?:倒|了一跤)|栽倒"
    r"|(?:地上|床上|倒了|摔了).{0,6}起不来|起不来了|晕(?:倒|过去|了)|昏(?:倒|过去|迷)"
    r"|眼前(?:一黑|发黑)|不省人事|(?:叫|喊|推)不醒|没(?:了)?意识|胸(?:口|部)?(?:疼|痛|闷|发紧)"
    r"|心(?:脏|口)(?:疼|痛|难受|不舒服)|心梗|心脏病(?:又)?(?:犯|发)|喘不(?:上|过|动)来?气|上不来气"
    r"|呼吸困难|透不过气|憋得(?:慌|喘)|中风|脑梗|脑出血|半边身子|半身(?:没劲|不能动|发麻)"
    r"|(?:口眼|嘴)歪|说话(?:不利索|含糊|不清)|说不出话"
    r"|(?:胳膊|手|腿|脚)(?:腿|脚)?(?:不听使唤|没劲了)|一边(?:身子)?(?:没劲|发麻)"
    r"|(?:流|出)血(?:不止|止不住)|血(?:止不住|一直流)|大出血|着火|失火"
    r"|(?:煤气|燃气|天然气)(?:味|泄漏|漏)|噎(?:住|着)了|卡(?:住|着)嗓子"
    r"|吃了(?:一把|好多|整瓶|一瓶)(?:安眠)?药|喝了(?:农药|敌敌畏|百草枯)|滑倒|掉下来了"
    r"|(?:摔|倒|滑).{0,8}动不了|动不了了|胸口.{0,4}(?:闷|压|沉|疼|痛)|心口窝.{0,3}(?:疼|痛|闷)"
    r"|(?:半边|一边)(?:身子|脸)?麻|(?:突然|一下子|半边).{0,6}抬不起来|头晕.{0,6}站不(?:住|起来)"
    r"|站都站不住|救护车|(?:我|俺)不行了|头疼得.{0,6}(?:裂|吐)|抽过去|抽风"
    r"|舌头(?:发硬|不好使|发直)|嘴角(?:歪|往下)|喘气(?:费劲|喘不匀|困难)|一口气上不来"
    r"|说(?:话)?说?不清(?:话|了|楚了)|出事了.{0,3}快|快来(?:人|救)"
    r"|吃错(?:了)?药|呼吸不(?:了|上来|过来)|冒(?:黑)?烟|浓烟|(?:好多|满屋子?|一屋子?)(?:的)?烟",
)
_EMERGENCY_EN = (
    r"\b(?:call|dial|ring|get)\s+(?:an?\s+|the\s+)?(?:ambulance|911|120|999|112|doctor now)\b"
    r"|\bambulance\b|\bsos\b|\bhl?ep me\b|\bhlep\b|^\s*help\W*$|\bemergency\b|\bi need help now\b"
    r"|\b(?:fell|fallen)\b(?!\s+(?:asleep|for|in love|behind|off the))"
    r"|\b(?:fall down|had a fall|took a fall|slipped and fell)\b|\bon the floor\b"
    r"|\bcan'?t get up\b(?!\s+(?:the )?(?:stairs|steps|hill|as\b|early))"
    r"|\bchest (?:pain|hurts?|is tight)\b|\bheart attack\b"
    r"|\b(?:can'?t|cannot|struggling to) breathe\b|\bshort of breath\b|\bbreathless\b|\bstroke\b"
    r"|\b(?:face|mouth) (?:is )?droop|\bdrooping\b|\bslurr|\bcan'?t (?:speak|talk) properly\b"
    r"|\b(?:weak|numb) on one side\b|\bone side of (?:my|his|her) (?:body|face)\b"
    r"|\bcan'?t feel (?:one side|my (?:arm|leg|hand|face|foot))"
    r"|\bfaint|\bpass(?:ed)? out\b|\bcollapsed\b"
    r"|\bunconscious\b|\bwon'?t wake up\b|\bnot waking up\b"
    r"|\b(?:bleeding|blood)\b.{0,25}\b(?:won'?t|doesn'?t|can'?t) stop\b"
    r"|\bbleeding (?:a lot|heavily|badly)\b|\blots of blood\b|\bthere'?s a fire\b|\bon fire\b"
    r"|\bcaught fire\b|\bfire in (?:the|my)\b|^\W*fire\W*$|\bsmells? (?:of )?gas\b|\bgas leak\b"
    r"|\bchoking\b|\btook (?:all|a lot of|too many|a whole bottle of) (?:my )?(?:pills|tablets)\b"
    r"|(?<!to )\boverdose"  # "going to overdose" is a crisis (below)
    r"|^\W*(?:please\s+)?(?:somebody\s+)?help(?:\W+(?:me|help|us|please|someone|somebody))*\W*$"
    r"|\bi need help (?:right )?now\b|\bchest pains?\b"
    r"|\bchest\b.{0,20}\b(?:pain|hurts?|hurting|tight|heavy|pressure)\b"
    r"|\b(?:pain|tight|heavy)\b.{0,12}\bchest\b|\bcan'?t (?:catch|get) my breath"
    r"|\bcan'?t move (?:my|his|her) (?:arm|leg)|\b(?:hardly|barely) breathe\b|\bhaving a fit\b"
    r"|\bseizure|\bconvuls|\b(?:arm|leg|face|hand)\b.{0,15}\b(?:gone weak|numb|dropped|droop)"
    r"|\bcan'?t (?:lift|move) my (?:arm|leg)|\bslipped\b.{0,25}\bcan'?t move\b"
    r"|\bdizzy\b.{0,20}\bcan'?t stand\b|\bcan'?t get (?:his|her|my) words out\b"
    r"|\bworst headache\b|\b(?:hurt|hit|banged) (?:my|his|her) head\b|\bcovered in blood\b"
    r"|\bcome (?:fast|quick(?:ly)?|right away)\b|^\W*(?:please )?come (?:now|quick)\W*$"
    r"|\b(?:lips|face) (?:are |is )?(?:going|turning|gone) blue\b"
    r"|\b(?:not getting|can'?t get) (?:enough )?air\b"
    r"|\bcan'?t stand up\b(?!\s+(?:for|long|straight))"
    r"|\bslipped in the (?:shower|bath|bathroom|tub)\b"
    r"|\b(?:taken|took) too much (?:medicine|medication)\b"
    r"|\bneed (?:a doctor|help|an ambulance) (?:right )?now\b|\bit'?s urgent\b"
    r"|\bsmoke\b.{0,20}\b(?:coming|everywhere|filling|pouring)\b|\b(?:full of|thick) smoke\b",
)
_CRISIS_ZH = (
    r"不想活|活着没(?:意思|劲|盼头)|活够了|不活了|死了算了|想(?:去)?死|去死|自杀|轻生|寻死|了结"
    r"|结束(?:这一切|生命|自己)|割(?:腕|自己|手腕)|跳楼|上吊|一了百了|攒.{0,4}(?:安眠)?药"
    r"|一把安眠药|安眠药.{0,3}(?:全|都)吃|喝农药|别醒(?:过来)?(?:就好|算了|最好)|一睡不醒"
    r"|睡着了.{0,4}(?:不醒|别醒)|(?:我|俺)(?:走了|没了|死了).{0,6}(?:轻松|省心|省事|解脱)"
    r"|(?:是|就是)(?:个)?累赘|没啥(?:可)?留恋|活着(?:也)?(?:多余|没用|白费)"
    r"|活着(?:还)?有(?:啥|什么)意思|活着(?:真|也)?没(?:啥)?(?:意思|劲|盼头)|不如死|想喝药"
    r"|一死了之|活着.{0,4}(?:遭罪|受罪)|还不如死|想(?:去|从楼上)?跳(?:下去|江|河|楼)|不想再活"
    r"|了断|去找老伴儿|找老伴儿去|(?:随|跟)(?:老伴儿?|老头子?|老太太|老婆子|老爷子).{0,4}(?:走|去)"
    r"(?:了|吧)?(?:\W|$)|活着.{0,8}想走了|一闭眼就过去"
    r"|想好了怎么死|(?:我|俺).{0,4}(?:想|琢磨)怎么死|死了(?:干净|省得|省心)|添累赘|活着.{0,4}拖累"
    r"|死了.{0,4}不拖累|拖累.{0,8}(?:不如走|想走|走了)"
    # "想不开" is how many elders hint at it; "别想不开" (comforting someone else) is not.
    r"|(?<!别)(?<!不要)想不开|(?:我|俺)要是(?:走了|没了|死了)|(?:还是|不如)死了(?:好|算了|干净)"
    r"|绳子.{0,4}(?:准备|备|找)好"
    # "走" for dying: going to join a late spouse, better gone early, lived long enough.
    r"|(?:去|想)找(?:我|俺)?(?:家)?(?:的)?(?:老伴|老头子?|老太婆|老婆子)儿?(?:去|了)?(?:\W|$)"
    r"|(?:早点|早些|早)走(?:了)?(?:好|算了|也好|拉倒|省心)|(?:活|活得)?够本了"
    # Indirect: not waking up, nobody would notice, a burden to them, the end arranged.
    r"|(?:不想|别|不要)再?醒(?:过来|了)|醒不过来(?:才好|就好|算了|也好)"
    r"|(?:死了|走了|没了|不在了).{0,6}(?:都|也)?没(?:人|谁)(?:知道|发现|管|在乎|想|惦记|心疼)"
    r"|没(?:人|谁)(?:会)?(?:在乎|惦记|想)(?:我|俺)(?:了)?(?:\W|$)|(?:我|俺)(?:就是|是|成了)(?:个)?"
    r"(?:负担|包袱|废人)"
    r"|(?:拖累|连累|麻烦)(?:孩子|儿女|家里|大家|他们).{0,8}(?:不如|还不如|干脆|早点|想走|走了)"
    r"|(?:撑|熬|活)不下去了|(?:交代|安排)(?:好)?(?:后事|身后事)|遗书|(?:去|下去)(?:陪|见)(?:老伴|"
    r"他|她|老头|老太)"
    r"|(?:跟|和)(?:老伴|老头子?|老太婆?)(?:儿)?(?:团聚|作伴)去|(?:活着|活下去)(?:还)?(?:有)?(?:啥|"
    r"什么)(?:用|盼头)"
    r"|活着(?:就是|纯粹)?(?:受罪|遭罪|浪费)|没(?:啥|什么)(?:盼头|活头)|(?:解脱|一了百了)(?:算了|吧"
    r"|了)",
    # Following a late spouse; nobody would notice; belongings given away or arranged;
    # at the end of their strength; medicine refused because it is no use any more.
    r"(?:想|要)(?:跟着?|随)(?:他|她|老伴儿?|老头子?|老太婆?)(?:一起|一块儿?)?(?:去|走)(?:了|死)?(?"
    r":\W|$)"
    r"|天天想去找(?:他|她)|(?:没了|死了|走了|不在了).{0,10}(?:才|都没|也没)(?:有)?人(?:发现|知道)"
    r"|(?:存折|房本|首饰|金镯子|镯子|遗嘱).{0,10}(?:写好|交代|留给|给孙|安排好)|(?:把|老把)东西(?:"
    r"都)?送人"
    r"|熬到头|不想再熬|(?:在不在|有没有(?:我|俺))都一样|(?:没几天|活不了几天)(?:活头|了)"
    r"|吃了也白吃|没了(?:我|俺)你们.{0,8}(?:过得|更好|挺好)",
)
_CRISIS_EN = (
    r"\bkill (?:myself|me)\b|\bsuicid|\bend(?:ing)? (?:it all|my life|things|everything)\b"
    r"|\b(?:want|wanna|going) to die\b|\bdon'?t want to (?:live|be alive|be here|wake up|go on)\b"
    r"|\bbetter off without me\b|\bno (?:reason|point) (?:to|in) (?:live|living|going on)\b"
    r"|\bdon'?t see the point\b|\bnothing to live for\b"
    r"|\bi'?m (?:just |only |nothing but |such )?a burden\b|\bburden to (?:everyone|my)"
    r"|\bnobody would miss me\b|\bnot be here any ?more\b"
    r"|\bsaving (?:up )?(?:my )?(?:sleeping )?(?:pills|tablets)\b|\bhurt myself\b|\bcut myself\b"
    r"|\bhow i(?: would| could| will|'d) do it\b|\bjump off\b|\bend it\b|\blife isn'?t worth"
    r"|\bkilling myself\b|\bwish i (?:were|was) dead\b|\bnot wake up\b|\b(?:all|it) to be over\b"
    r"|\btired of living\b|\bhad enough of life\b|\bending it all\b"
    r"|\bbetter off (?:dead|if i died)\b|\btaking my own life\b|\bpoint (?:of|in) living\b"
    r"|\b(?:life|living) has no (?:meaning|point)\b|\bno meaning to my life\b|\bbe with my late\b"
    r"|\bjoin my (?:wife|husband) in heaven\b|\bcan'?t go on living\b"
    r"|\brather (?:die|be dead|not be alive)\b|\bsooner be dead\b"
    # An intended overdose (a taken one is an emergency, above).
    r"|\b(?:going|gonna|want) to (?:take|swallow) (?:all|a lot of|the whole bottle of) "
    r"(?:my |of my )?(?:pills|tablets|sleeping pills)\b|\bto overdose\b"
    r"|\b(?:collecting|stockpiling|hoarding) (?:up )?(?:my )?(?:sleeping )?(?:pills|tablets)\b"
    r"|\bcan'?t go on\b|\bwish i (?:hadn'?t|had not|didn'?t|never) (?:woken|wake)"
    r"|\b(?:what(?:'s| is)? there|what have i got|what do i have|nothing left) to live for\b"
    r"|\bcut (?:my )?(?:wrists?|arms?)\b|\b(?:won'?t|wouldn'?t|will not|would not) miss me\b"
    r"|\bpoint (?:in|of) (?:carrying on|going on)\b|\bfeel like dying\b|\bno loss to anyone\b"
    r"|\bwant to disappear\b|\brather not be here\b|\bstash of (?:pills|tablets)\b"
    r"|\bsleep forever\b|\bhope i (?:don'?t|never) wake up\b"
    # Indirect: a burden, not being around, nobody noticing, joining the dead, affairs in order.
    r"|\bno one (?:would|will|'?d) (?:notice|care|miss)|\bnobody (?:would|will|'?d) (?:notice|care)"
    r"|\bwon'?t be (?:around|here) (?:much )?(?:longer|for long)\b|\bdon'?t want to be around\b"
    r"|\b(?:be|join|see) (?:with )?(?:him|her|my (?:late )?(?:wife|husband|partner)) (?:again|soon"
    r")\b"
    r"|\b(?:can'?t|cannot) (?:do|take|bear) (?:this|it) any ?more\b|\btired of (?:it all|everythin"
    r"g)\b"
    r"|\b(?:affairs|things) in order\b|\bgiv(?:e|ing) (?:away )?(?:all )?my things away\b"
    r"|\bwhat'?s the point\b|\bno point (?:any ?more|to any of this|in anything)\b"
    r"|\b(?:wish|hope) i (?:could )?(?:just )?(?:go to sleep|slip away|fade away)\b"
    r"|\beveryone (?:would be|is) better off\b|\bdon'?t want to go on\b|\bready to go\b",
    r"\b(?:wants?|wanted|talking about wanting) to (?:kill (?:himself|herself)|die|end (?:it|his l"
    r"ife"
    r"|her life))\b|\bkill (?:himself|herself)\b|\bgiv(?:en|ing) (?:away )?(?:all )?(?:my|her|his) "
    r"(?:good |best )?(?:\w+ )?(?:away|jewell?ery|things|belongings)\b|\bsorted (?:out )?the will\b"
    r"|\b(?:written|wrote) (?:letters|notes) (?:for|to) (?:each|all|every)|\bmade my arrangements\b"
    r"|\btired of being here\b|\bcan'?t keep (?:doing|going on with|living like) this\b",
)


def _compile(*parts: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(p for group in parts for p in group), re.IGNORECASE)


_EMERGENCY = _compile(_EMERGENCY_ZH, _EMERGENCY_EN)
_CRISIS = _compile(_CRISIS_ZH, _CRISIS_EN)


def danger_in(text: str) -> Optional[str]:
    """ "emergency", "crisis" or None. Emergency wins: a body in danger now comes first."""
    if _EMERGENCY.search(text):
        return "emergency"
    if _CRISIS.search(text):
        return "crisis"
    return None


# In the order danger_in decides: an emergency wins over a crisis.
KINDS = ("emergency", "crisis")


def danger_span(
    kind: str, text: str, pos: int = 0, endpos: Optional[int] = None
) -> Optional[tuple[int, int]]:
    """Where the first ``kind`` words are in ``text[pos:endpos]`` (``^`` still means the
    start of ``text``): for finding danger in a message too long to read whole."""
    pattern = _EMERGENCY if kind == "emergency" else _CRISIS
    found = pattern.search(text, pos, len(text) if endpos is None else endpos)
    return found.span() if found else None


def hits(text: str) -> list[tuple[str, int, int]]:
    """Every match of the danger words: (kind, start, end), in the order of the text. Read
    one by one (care/safety_reading.py): one message may hold a harmless match and a real
    one ("乐死我了… 我摔了起不来")."""
    found = [
        (kind, m.start(), m.end())
        for kind, pattern in (("emergency", _EMERGENCY), ("crisis", _CRISIS))
        for m in pattern.finditer(text)
    ]
    return sorted(found, key=lambda hit: hit[1])
