"""The console's words for one alert's page, false alarms and the dashboard's weekly
false-alarm figure, in Chinese and English."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "zh": {
        "alert_details": "详情",
        "assigned_to": "经办人",
        "resolved_by": "处理人",
        "mark_false_alarm": "误报",
        "false_alarm_hint": "不是真的紧急情况？点“误报”：提醒会结束，这句话会用来改进助手。",
        "undo_false_alarm": "不是误报，撤销",
        "false_alarm_marked": "已标记为误报：",
        "not_an_alarm": "这类提醒不是警报，不能标记为误报。",
        "recent_false_alarms": "最近标记的误报",
        "false_alarms_weekly": "每周误报（近 8 周）",
        "week_of": "周（周一起算）",
        "alarms": "警报",
        "false_alarms": "误报",
        "false_rate": "误报率",
    },
    "en": {
        "alert_details": "Details",
        "assigned_to": "Handled by",
        "resolved_by": "Resolved by",
        "mark_false_alarm": "False alarm",
        "false_alarm_hint": "Not a real emergency? Press \u201cFalse alarm\u201d: the alert is "
        "closed, and the message helps the assistant learn.",
        "undo_false_alarm": "Not a false alarm after all",
        "false_alarm_marked": "Marked as a false alarm:",
        "not_an_alarm": "This kind of alert is not an alarm, so it cannot be a false alarm.",
        "recent_false_alarms": "Recently marked false alarms",
        "false_alarms_weekly": "False alarms per week (last 8 weeks)",
        "week_of": "Week of",
        "alarms": "Alarms",
        "false_alarms": "False alarms",
        "false_rate": "False-alarm rate",
    },
}
