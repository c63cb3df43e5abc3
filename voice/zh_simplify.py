"""Traditional → Simplified Chinese for the characters Whisper most often gets wrong.

Whisper's multilingual models were trained on much Traditional text and sometimes answer
in it even with a Simplified prompt. OpenCC is not installable here, so this is a small
character map: the common characters of everyday speech and of our domain (bookings, meals,
clinics, feelings, times). Characters it does not know are left as they are.
"""

from __future__ import annotations

_PAIRS = (
    "們们個个來来時时會会說说這这對对還还點点預预約约門门診诊飯饭號号幾几請请謝谢麼么"
    "嗎吗醫医隊队藥药樂乐開开關关問问間间聽听見见現现話话電电東东車车長长兒儿媽妈爺爷"
    "歲岁錢钱買买賣卖給给讓让從从過过運运動动體体頭头腦脑臟脏難难氣气風风報报紙纸飛飞"
    "書书學学寫写讀读語语國国與与為为無无樣样發发經经處处應应該该幫帮覺觉聲声愛爱親亲"
    "戶户歡欢壓压腳脚腸肠熱热餓饿飽饱湯汤麵面雞鸡魚鱼蘋苹訂订換换單单護护療疗師师週周"
    "曆历歷历鐘钟準准備备錯错記记憶忆憂忧鬱郁獨独傷伤淚泪夢梦總总裡里裏里邊边後后麗丽"
    "兩两萬万億亿廳厅樓楼區区鄉乡場场陽阳陰阴雲云燈灯衛卫蘭兰陳陈張张劉刘趙赵吳吴鄭郑"
    "孫孙楊杨黃黄馬马線线網网機机帶带實实際际義义認认識识進进遠远達达選选連连錄录轉转"
    "調调興兴驗验險险顧顾養养習习婦妇壽寿雙双罷罢夠够倆俩傳传聖圣蓋盖華华漢汉貴贵輕轻"
    "頁页順顺須须領领題题顏颜願愿類类顯显飲饮館馆鬧闹鮮鲜鳥鸟麥麦齊齐齒齿龍龙鐵铁銀银"
    "鍋锅隨随雖虽雜杂離离靈灵韓韩響响頓顿額额騎骑驚惊髮发鬆松鹽盐陣阵陸陆隻只蘇苏藝艺"
    "藍蓝蟲虫術术衝冲補补製制複复觀观計计訊讯許许試试詩诗詳详誠诚誤误課课談谈論论證证"
    "譯译議议讚赞豐丰貓猫負负財财貨货費费資资賓宾質质購购趕赶較较輛辆輪轮辦办農农鄰邻"
    "醬酱釋释針针鈴铃錶表鏡镜閉闭閱阅隱隐頻频颱台飢饥餅饼餵喂鬥斗壞坏聞闻聯联職职腎肾"
    "膽胆臉脸臨临舊旧節节範范簡简簽签緊紧統统絕绝綠绿維维緒绪練练縣县繼继續续罰罚羅罗"
    "聰聪脫脱腫肿蔥葱蝦虾襪袜規规視视觸触訪访設设貝贝賬账賴赖跡迹軟软輔辅遲迟遺遗釣钓"
    "鋪铺鍵键鎮镇閃闪閒闲闊阔靜静頂顶項项飄飘飼饲餘余駕驾騙骗髒脏鬍胡魯鲁鳳凤鴨鸭鵝鹅"
    "齡龄於于掛挂數数漸渐減减溫温"
    "濕湿瀏浏產产畫画療疗癥症盡尽監监碼码確确禮礼種种稱称穩稳竊窃衆众眾众綫线厲厉瘋疯"
)
TRADITIONAL_TO_SIMPLIFIED = {
    ord(_PAIRS[i]): _PAIRS[i + 1] for i in range(0, len(_PAIRS), 2) if _PAIRS[i] != _PAIRS[i + 1]
}


# Whisper mixes ASCII punctuation into Chinese ("宇宙,洪荒"); full-width reads as one text.
_FULL_WIDTH = {ord(","): "，", ord("?"): "？", ord("!"): "！", ord(";"): "；", ord(":"): "："}


def to_simplified(text: str) -> str:
    return text.translate(TRADITIONAL_TO_SIMPLIFIED).translate(_FULL_WIDTH)


def simplified_ratio(text: str) -> float:
    """Share of the mapped characters in ``text`` already Simplified (1.0 when none)."""
    known = set(TRADITIONAL_TO_SIMPLIFIED.values())
    trad = sum(1 for ch in text if ord(ch) in TRADITIONAL_TO_SIMPLIFIED)
    simp = sum(1 for ch in text if ch in known)
    return 1.0 if trad + simp == 0 else simp / (trad + simp)
