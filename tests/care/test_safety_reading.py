"""Danger words read in their sentence (care/safety_reading.py): fixed vectors per rule, in
both languages, and the answers to the possible-danger question."""

from __future__ import annotations

import pytest

from care.safety_reading import read, read_check_answer

EMERGENCY = [
    '我摔倒了 起不来',
    '疼死了 起不来了',
    '我老伴倒在地上叫不醒',
    '救命',
    'help',
    'I fell and hit my head',
    'my husband collapsed',
    "there's a fire in the kitchen",
    'I smell gas',
    'chest pain',
    '她心口疼得厉害',
    '快打120 我妈晕过去了',
    "he's unconscious what do i do",
    '我刚才在厕所摔了 腿疼',
    '俺老头子在院子里摔了 头上全是血',
    '我刚摔地上了 腰疼 动不了',
    '妈妈摔了一跤 现在躺着说腿疼',
    '他心口疼 喘不上气',
    '我爸说话不清楚 嘴歪了',
    '家里好大的煤气味',
    '厨房着火了',
    '我老伴儿叫不醒了 快来人',
    '我喘不上气',
    '头疼得厉害 吐了',
    '昨天摔了一跤 今天腿还疼',
    "I slipped on the stairs and I can't get up",
    "Mum has fallen and she's bleeding from her head",
    "my husband is on the floor and won't wake up",
    "Dad's face is drooping and his speech is slurred",
    "I can't breathe properly",
    "there's smoke coming from the kitchen",
]
POSSIBLE = [
    '我摔了一跤',
    '胸口有点闷',
    '头晕',
    'I fell in the bathroom',
    'I feel dizzy',
    '我有点头晕',
    '今天浑身没劲',
    '心里有点慌 心跳得快',
    'I took a tumble in the garden',
    'I feel a bit lightheaded',
    'my chest feels a little tight',
]
CRISIS = [
    '活着没意思',
    'nobody would miss me if I were gone',
    'I want to kill myself',
    '不想拖累孩子了 攒了好多安眠药',
    "I've been saving my pills",
    '这日子过得没意思 不如死了算了',
    '我就是个累赘',
    '想去找我老伴儿了',
    '活了八十多岁 够本了 早点走了好',
    "I'm a burden to my children",
    "I've been thinking everyone would be better off without me",
    "I don't want to be here anymore",
    'I just want to go to sleep and not wake up',
    'I want to be with my late wife',
]
HARMLESS = [
    '我把暖壶摔了',
    '外孙子骑车摔了一下 早好了',
    'my cat fell off the sofa',
    '前天差点滑倒 没咋地',
    "I tripped last week but I'm fine now",
    '乐死我了',
    '忙死了今天',
    '冻死人了',
    "I'm dying to see the baby",
    '120打通了要说啥',
    'what do I do if my husband falls?',
    '想死你们了',
    '跳楼价大甩卖',
    '电视上说有个老人煤气中毒了',
    '邻居王大爷上个月中风了',
    '老伴走了三年了',
    '我想订明天的午饭',
    '我的手机摔坏了',
    'the vase fell and broke',
    '我去年摔过一次 现在好了',
    'what are the signs of a stroke',
    'this cake is to die for',
    'my feet are killing me',
    'it nearly gave me a heart attack',
    '血压120',
    '120块钱',
    '我滑了一下 没摔着',
    '杯子掉地上碎了',
    '碗打了',
    '小狗从床上掉下来了',
    '孙女学自行车摔了好几次 哈哈',
    '隔壁李奶奶昨天住院了',
    '新闻说冬天老人容易摔跤',
    '老人摔倒了应该怎么扶',
    '急救电话是多少',
    '哪些是中风的症状',
    '我老伴中风好几年了 现在在康复',
    '我有心脏病 明天去复查',
    '累死我了 刚从菜市场回来',
    '热死了 空调坏了',
    '吓死我了 差点摔倒',
    '哎呀 气死我了 孙子又不写作业',
    'I dropped my glasses and they broke',
    'the picture fell off the wall',
    'the dog fell in the pond lol',
    "my neighbour fell last month, she's in hospital",
    'I saw on the news an old man fell in the street',
    "how do I help someone who's having a stroke?",
    'what number do I call for an ambulance?',
    'I nearly slipped on the ice but caught the rail',
    'I fell for his joke',
    "I'm dying for a cup of tea",
    'this heat is killing me',
    'I laughed so hard I nearly died',
    'I fell over last year and broke my wrist, all healed now',
    'can I book lunch for tomorrow',
    'help me book a taxi',
    "I'd like to stroke the cat at day care",
    'my fall prevention class is on monday',
]


@pytest.mark.parametrize("text", EMERGENCY)
def test_clear_danger_is_an_emergency(text):
    assert read(text).level == "emergency", read(text)


@pytest.mark.parametrize("text", POSSIBLE)
def test_possible_danger_is_one_question(text):
    assert read(text).level == "possible", read(text)


@pytest.mark.parametrize("text", CRISIS)
def test_not_wanting_to_live_is_a_crisis(text):
    assert read(text).level == "crisis", read(text)


@pytest.mark.parametrize("text", HARMLESS)
def test_everyday_sentences_with_danger_words_alarm_nobody(text):
    assert read(text).level is None, read(text)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("我把暖壶摔了", "object"),
        ("my cat fell off the sofa", "object"),
        ("乐死我了", "idiom"),
        ("I'm dying to see the baby", "idiom"),
        ("120打通了要说啥", "question"),
        ("what do I do if my husband falls?", "question"),
        ("电视上说有个老人煤气中毒了", "reported"),
        ("I tripped last week but I'm fine now", "over"),
        ("我去年摔过一次", "past"),
        ("差点摔了 扶住了", "near-miss"),
        ("孙女学自行车摔了好几次 哈哈", "a child's fall"),
        ("邻居摔了一跤", "elsewhere"),
        ("you're on fire today, three wins in a row", "idiom"),
        ("my mouth is on fire after that curry", "idiom"),
        ("I saw on the news a woman collapsed", "reported"),
        ("watching Casualty, someone's fallen off a ladder again", "reported"),
    ],
)
def test_each_rule_names_itself(text, why):
    reading = read(text)
    assert (reading.level, reading.why) == (None, why), reading
    assert reading.words  # the words it explained away, for staff


@pytest.mark.parametrize(
    "text",
    ["I fell and cannot get up", "I fell and can\u2019t get up", "he could not get up after a fall",
     "I can not breathe", "she won\u2019t wake up"],
)  # fmt: skip
def test_the_many_ways_to_write_cant_read_the_same(text):
    assert read(text).level == "emergency", read(text)


@pytest.mark.parametrize(
    "text",
    ["kitchen is on fire", "the pan is on fire",
     "neighbour's flat is on fire and the smoke is coming into mine", "邻居家着火了 烟都进屋了"],
)  # fmt: skip
def test_a_room_on_fire_or_a_fire_next_door_is_an_emergency(text):
    # "On fire" is an idiom only of a person or a body part; a fire next door spreads.
    assert read(text).level == "emergency", read(text)


@pytest.mark.parametrize(
    "text",
    ["老头子坐沙发上看着电视突然就不吭声了 眼睛往上翻 叫他不应", "喊她半天也不应",
     "was watching telly and he just collapsed",
     "I heard a crash and she is on the floor and can't get up"],
)  # fmt: skip
def test_watching_television_or_hearing_a_crash_is_no_report(text):
    # Reported means told (on the news, on TV); the television on in the room is not.
    assert read(text).level == "emergency", read(text)


def test_a_very_low_blood_sugar_is_danger_and_an_ordinary_one_no_word_to_explain_away():
    assert read("Blood sugar 2.3 shaky sweaty can't think").level == "emergency"
    assert read("血糖仪测了2.1 手抖得按不住屏幕").level == "emergency"
    # Nothing read, so the classifier's own guess decides (anxin/nlu_safety.py).
    assert read("my blood sugar is 7.2 today").why == "no danger words"


@pytest.mark.parametrize(
    "text",
    ["grandpa fell down and hes jerking and theres foam coming out his mouth",
     "I've had a fall in the garden and my wrist is bent the wrong way",
     "Throat's closing up after those prawns, lips swelling",
     "Dad's taken a whole week of his pills at once, he's hard to rouse",
     "找不着家了 天黑了 这是哪啊 冷", "一脚没踩住就坐地上了 腿越来越肿",
     "昨天采的蘑菇炒着吃了 今早上吐下泻 手脚发麻",
     "我这心口 一阵一阵疼到后背了 左手也麻",
     "sorry to bother you dear but I can't seem to catch my breath and my lips have gone blue",
     "my neighbour is slumped over the steering wheel in his drive not moving",
     "there's a man lying in the snow outside the flats, he's barely breathing",
     "my nanna isn't waking up", "he had a fall off the ladder and he's not moving his legs"],
)  # fmt: skip
def test_signs_of_danger_now_in_other_words(text):
    assert read(text).level == "emergency", read(text)


@pytest.mark.parametrize(
    "text",
    ["the fish was jerking on the line", "差点踩空 扶住了", "I've had a cold all week",
     "我不知道在哪买", "上礼拜胸口闷去医院查了个遍 大夫说心脏没毛病",
     "The chest pain on Sunday turned out to be indigestion, all clear from the hospital",
     "When I ring 999 what do they ask you?", "I can't get up the stairs as easily as I used to",
     "My sister fell in Spain and broke her arm, she's home now with a cast",
     "I'm not dying my hair this time, I'm going grey gracefully",
     "we watched Casualty tonight and someone had a heart attack in a lift, so dramatic",
     "how do I set up the emergency button on my mum's phone",
     "my sister fainted at the wedding from the heat but she was up and dancing an hour later",
     "we're not moving house after all"],
)  # fmt: skip
def test_their_everyday_neighbours_are_no_danger(text):
    assert read(text).level is None, read(text)


def test_a_fall_whose_injury_is_denied_is_one_question_not_the_alarm():
    assert read("就摔了一下 不疼 自己起来了").level == "possible"
    assert read("I fell but it doesn't hurt and nothing is broken").level == "possible"
    assert read("摔了一下 不疼 就是起不来").level == "emergency"


def test_a_harmless_idiom_does_not_hide_a_real_emergency_in_the_same_message():
    assert read("忙死了 刚才又摔了一跤 起不来了").level == "emergency"
    assert read("I'm dying to go home but I fell and can't get up").level == "emergency"
    assert read("").level is None and read("你好").level is None


@pytest.mark.parametrize(
    ("answer", "means"),
    [
        ("没事 自己起来了", "fine"), ("不疼", "fine"), ("没有", "fine"), ("不用", "fine"),
        ("I'm fine, just a bruise", "fine"), ("no", "fine"), ("nope, all good", "fine"),
        ("起不来", "help"), ("腿动不了", "help"), ("不能起来", "help"),
        ("没事 就是腿有点疼", "help"),
        ("嗯", "help"), ("yes I need help", "help"), ("I can't get up", "help"), ("不好", "help"),
        ("不疼 没流血 自己起来了", "fine"), ("no blood, nothing broken", "fine"),
        ("我想订午饭", "unclear"), ("what's for lunch", "unclear"), ("", "unclear"),
    ],
)  # fmt: skip
def test_answers_to_are_you_hurt_do_you_need_help(answer, means):
    assert read_check_answer(answer) == means
