"""Speaker labels: the text as written before a turn, split into name and organisation, and read
into organisation, person name and title.

Parsing uses :func:`split_speaker` to fill a turn's ``speaker_name`` and ``organisation``;
searching uses :func:`read_label` to know who spoke (:mod:`indexer.people`), so this module lives
apart from the parsers (the read path never imports them).

Vocabulary
----------
label
    The speaker as a record writes it, e.g. ``臺北市資訊局/呂新科局長``, ``吳委員銘軒``, ``主席``.
reading
    What one label says on its own (:class:`LabelReading`): the organisation, the person's name,
    the title or role, and its *kind*:

    ``person``        a name was read: ``唐鳳``, ``唐鳳召集人``, ``唐召集人鳳`` (surname, title,
                      given name), ``行政院唐鳳政委``, ``臺北市資訊局/呂新科局長``,
                      ``陳依婕 (中央健康保險署)``, ``Arnold 參議員``, ``Audrey Tang``, ``近藤彌生子``;
    ``surname``       a surname with a title and no given name (``唐院長``, ``國發會簡處長``,
                      ``林先生``, ``野島``);
    ``given``         a given name or a nickname alone (``雨蒼``, ``博恩``): who it is needs
                      evidence, like a surname;
    ``role``          a role or title alone (``主席``, ``主持人``, ``司儀``, ``問``, ``秘書長``);
    ``organisation``  an organisation speaking (``內政部代表``, ``秘書處``, ``國發會(補充說明)``);
    ``group``         several speakers at once (``魏守斌、彭筱婷``);
    ``note``          not a speaker but a note (``【經濟部補充說明】``, ``工作會議結論``);
    ``unread``        anything else (``諮委2``, ``李○○(附議者)``, ``bill_tsai``, ``NEC Dev``).

How names are recognised: a Chinese name is a surname from :data:`SURNAMES` or
:data:`COMPOUND_SURNAMES` and one or two given characters; a Japanese name starts with one of
:data:`JAPANESE_SURNAMES`; names written with a middle dot (``瑪格麗特・胡佛``) and Latin names of
capitalised words (``Audrey Tang``, ``Mark``) are names as written. Titles come from
:data:`TITLES` (副, 代理, 前 in front of a title are part of it).

The reader never invents a person: only a ``person`` reading names one, and a label it cannot
read stays itself. Which labels name the *same* person, and who a ``surname``, ``given`` or
``role`` label is in a given meeting, is decided by :mod:`indexer.people` from these readings.

:func:`split_speaker` is the coarser split into (name as written, organisation) kept in each
turn's stored fields; the reader starts from it, so there is one set of splitting rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

__all__ = [
    "CHAIR_ROLES", "LabelReading", "read_label", "split_speaker", "name_surname",
    "PERSON", "SURNAME", "GIVEN", "ROLE", "ORGANISATION", "GROUP", "NOTE", "UNREAD", "NONE",
]

PERSON, SURNAME, GIVEN, ROLE, ORGANISATION, GROUP, NOTE, UNREAD, NONE = (
    "person", "surname", "given", "role", "organisation", "group", "note", "unread", "none")

# --- lexicons ------------------------------------------------------------------------------------

#: Single surnames common in Taiwan. Characters that mostly start an agency's name (國, 經, 教,
#: 內, 交, 主, 資, 原...) are left out on purpose: 國發會 is an agency, not Mr 國.
SURNAMES = frozenset(
    "陳林黃張李王吳劉蔡楊許鄭謝郭洪曾邱廖賴周徐蘇葉莊呂江何蕭羅高潘簡朱鍾彭游詹胡施沈余盧梁趙顏柯翁魏孫"
    "戴范方宋鄧杜傅侯曹薛丁卓阮馬董温溫唐藍石蔣古紀姚連馮歐程湯田康姜汪白鄒尤巫鐘黎涂龔嚴韓袁金童陸夏柳"
    "凃邵錢伍倪于譚駱熊任甘秦顧毛章史官萬俞雷粘饒闕凌崔尹孔辛武辜陶段龍韋葛池孟褚殷麥賀賈莫文管關向包丘"
    "梅利裴樊房全佘左花魯安鮑郝穆塗邢蒲成谷常閻練盛鄔耿聶符申祝繆陽解曲岳齊應單舒畢喬龐翟牛鄺留季覃卜項"
    "喻商滕焦車虞苗戚牟雲巴力艾樂臧司甄封談鄞匡占冉晏衛米易廉蓋湛郁宮富寇卞屈宗伊姬宣鐵井路那查靳冷銀閆"
    "藺欒晁惠桂燕蘭尚秋鞠計仲伏遲邊扶衣浦戈瞿權苑景仇冼霍儲諶竇薄哈華貝尉居芮羊逄隆屠尋胥壽刁柏沙衷柴蒙"
    "后樓賓綦滿孝皇操祁戎粱荊璩梨聞"
)
#: Rare surnames that are also common words (時間, 明天): a surname only in three-character names.
RARE_SURNAMES = frozenset("時明國原來保波買")
#: Two-character surnames (and the double surnames of married names such as 張簡).
COMPOUND_SURNAMES = frozenset(
    "歐陽 司馬 諸葛 上官 張簡 范姜 司徒 夏侯 東方 皇甫 尉遲 公孫 長孫 慕容 端木 令狐 軒轅 左丘 呼延 鍾離 宇文 "
    "澹臺 張廖 簡林".split()
)
#: Common Japanese surnames (the corpus has many Japanese visitors: 近藤彌生子, 村上政俊).
JAPANESE_SURNAMES = frozenset(
    """
    佐藤 鈴木 高橋 田中 伊藤 渡辺 渡邊 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上 木村 清水 山崎
    阿部 池田 橋本 山下 石川 中島 前田 藤田 小川 後藤 岡田 長谷川 村上 近藤 石井 斉藤 齊藤 坂本 遠藤 青木
    藤井 西村 福田 太田 三浦 岡本 松田 中川 中野 原田 小野 田村 竹內 竹内 金子 和田 中山 石田 上田 森田 柴田
    酒井 工藤 横山 宮崎 宮本 內田 内田 高木 安藤 谷口 大野 丸山 今井 高田 藤原 河野 小島 村田 武田 上野 杉山
    増田 平野 大塚 千葉 久保 松井 小山 岩崎 桜井 櫻井 木下 野口 松尾 菊地 野村 新井 渡部 竹中 伊原 野島 早川
    田部井 落合 矢板 松金 森里 大瀧 宇野 吉野 杉田 岩堀 神山 戸所 宮澤 北村 菅原 岸田 安倍 小池 茂木 玉木
    細野 山本 荒木 星野 堀江 東 森 關 関
    """.split()
)

#: Titles and forms of address: after a name (``唐鳳召集人``), before it (``立委陳椒華``) or
#: between surname and given name (``唐召集人鳳``). 副/代理/前 before a title are part of it.
TITLES = frozenset(
    """
    委員 立法委員 立委 政務委員 政委 主任委員 主委 諮詢委員 專門委員 召集人 共同召集人 副召集人 執行秘書
    主任秘書 秘書長 秘書 部長 次長 政務次長 常務次長 署長 局長 處長 司長 主任 科長 組長 股長 課長 隊長 所長
    館長 院長 廳長 主計長 參事 參議 技監 技正 簡任技正 技士 專員 科員 薦任科員 分析師 高級分析師 研究員
    助理研究員 檢察官 主任檢察官 檢察長 法官 督察員 稽查督察員 工程司 正工程司 簡任正工程司 報告人 發言人
    執行長 總監 品牌總監 特助 協理 經理 品牌經理 總經理 副總 副理 董事長 董事 理事長 理事 監事 會長 社長
    總編輯 主編 編輯 記者 主播 議員 參議員 議長 市長 縣長 鄉長 鎮長 區長 里長 總統 校長 教授 講座教授
    助理教授 講師 老師 博士 醫師 律師 會計師 建築師 先生 女士 小姐 太太 同學 様 樣 大使 代表 創辦人
    共同創辦人 負責人 執行董事 主席 主持人 司儀 助理 提案人 聯署人 附議者 PO
    """.split()
)
_TITLE_PREFIXES = ("副", "代理", "前", "署理")
#: Forms of address that say nothing about who someone is beyond the surname before them.
_HONORIFICS = frozenset({"先生", "女士", "小姐", "太太", "様", "樣", "同學"})

#: Labels that are a role, not a person. 主席 and 主持人 may be resolved to the chair a meeting's
#: header names (see :mod:`indexer.people`); the others stay roles.
CHAIR_ROLES = frozenset({"主席", "主持人", "會議主席"})
ROLES = CHAIR_ROLES | frozenset(
    """
    司儀 問 答 提問 提問者 發問 發問者 訪問者 採訪者 訪談者 訪員 記者 口譯 口譯人員 翻譯 通譯 觀眾 聽眾
    現場觀眾 與會者 參與者 民眾 來賓 貴賓 學員 學生 同學 老師 眾人 眾 全體 大家 主秘 幕僚 同仁 技監 工作人員
    旁白 影片 錄音 佚名 匿名 不明 男 女 男聲 女聲 未知 實習生 出席人員 與會人員 業務單位 承辦人 主辦單位 報告人
    interviewer interviewee moderator host audience question answer q a reporter journalist
    translator interpreter chair mc participant speaker unknown
    """.split()
) | frozenset("甲乙丙丁戊己庚辛壬癸")
#: Latin words that make "NEC Dev", "CHT PM" a team rather than a person.
_LATIN_ROLE_WORDS = frozenset({"dev", "pm", "op", "ops", "qa", "team", "staff", "office"})

#: Words that make a label a note rather than a speaker.
_NOTE_WORDS = ("留言", "結論", "摘要", "紀錄", "記錄", "回覆", "回饋", "同時發言", "提問", "事項", "情形",
               "動議", "討論", "結果", "提要", "小結", "如下")
_WEAK_NOTE_WORDS = ("報告", "說明", "發言", "片段", "補充")
#: A label ending so is an addition in writing; it is still its author's (趙榮台補充).
_NOTE_SUFFIXES = ("補充說明", "補充意見", "補充")
_NOTE_PREFIXES = ("會後", "現場", "書面")
_PAREN_REMARKS = ("代發言", "代讀", "代念", "附議者", "提案人", "補充說明", "補充", "翻譯", "口譯", "司儀",
                  "主持", "主持人", "主席", "代理")

# How organisations' names end (agencies, companies, schools, media...).
_ORG_END = re.compile(
    r"(?:部|署|局|處|司|院|會|所|中心|大學|學院|公司|辦公室|政府|團隊|聯盟|基金會|協會|學會|公會|工會|科|室|組|隊|"
    r"黨|館|社|廳|府|報|網|台|臺|視|刊|誌|媒體|新聞|電視|日報|時報|雜誌|集團|銀行|醫院|學校|國小|國中|高中|"
    r"公所|單位|團體|小組|委員會|法人|企業|科技|實驗室|工作室|聯合會|總會|廣播|之聲|傳媒|亞洲|區|市|縣|鄉|鎮|村)$"
)
# Endings no personal name has: a "name" ending so is an agency (文化部, 國發會, 官學院).
_STRONG_ORG_END = re.compile(r"(?:部|署|局|處|司|會|院|廳|報|網|視|組|室|社|中心|公司|政府|協會|學會|大學)$")
_AGENCY_CHARS = re.compile("[部署局處司會院廳]")
_JAPANESE_NOT_GIVEN = re.compile("[部署局處會院廳]")  # 司 ends many given names: 淳司, 健司

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_CJK_ONLY = re.compile(f"^[{_CJK}]+$")
_DOTTED_NAME = re.compile(f"^[{_CJK}]+(?:[‧・·．•][{_CJK}]+)+$")
_LATIN = re.compile(r"[A-Za-z]")
_LATIN_NAME = re.compile(r"^[A-Za-zÀ-ÖØ-öø-ÿ'’. -]+$")
_CAPITALISED = re.compile(r"^[A-ZÀ-ÖØ-Þ](?=[^ ]*[a-zß-öø-ÿ])[A-Za-zÀ-ÖØ-öø-ÿ'’.-]+$")
_MASKED = re.compile("[○〇Ｏ＊*ＸX]{2}|○")
_GROUP_SEPARATORS = ("、", "，", ",", "＆", "&", "；", ";")
_PAREN = re.compile(r"^(?P<outer>.+?)\s*[（(](?P<inner>[^()（）]+)[)）]$")
_NUMBERED = re.compile(r"^(?P<prefix>[^\d０-９]*?)[\s-]*(?P<number>[0-9０-９]+)[\s-]*(?P<rest>.*)$")


# --- the old split (stored with each turn) ------------------------------------------------------

_SPLIT_ORG_END = re.compile(r"(?:部|署|局|處|司|院|會|所|中心|大學|學院|公司|辦公室|政府|團隊|聯盟|"
                            r"基金會|協會|學會|公會|工會|科|室|組|隊|黨|館|社|廳|府)(?:代表)?$")


def _split_org_like(text: str) -> bool:
    return bool(_SPLIT_ORG_END.search(text)) and not _LATIN.search(text)


def split_speaker(label: str) -> tuple[str, str]:
    """Split a speaker label into (speaker_name, organisation): the name as written, title included.

    Rules, first match wins (anything else: the whole label is the name, organisation ""):
    1. ``org/name`` or ``org／name`` (plain-text records): split at the last slash.
    2. ``role：name`` (e.g. ``空保處代表：許平和薦任科員``): name after, role/unit before.
    3. ``name (org)`` / ``name（org）`` where the parenthesised part is CJK text ending like an
       organisation (署, 部, 學會, 協會, ...): ``陳依婕 (中央健康保險署)``.
    4. ``org（name）`` where the outer part ends like an organisation and the inner part is not
       a note (補充說明...): ``國發會（Daniel Chiu）``.
    So ``Richard Haddock (何立德)``, ``石怡佳(司儀)`` and ``經濟部(補充說明)`` stay whole.
    """
    label = " ".join(label.split())
    for sep in ("/", "／"):
        if sep in label:
            org, _, name = label.rpartition(sep)
            if org.strip() and name.strip():
                return name.strip(), org.strip()
    for sep in ("：", ":"):
        if sep in label:
            org, _, name = label.partition(sep)
            if org.strip() and name.strip():
                return name.strip(), org.strip()
    m = _PAREN.match(label)
    if m:
        outer, inner = m.group("outer").strip(), m.group("inner").strip()
        if _split_org_like(inner):
            return outer, inner
        if _split_org_like(outer) and "說明" not in inner:
            return inner, outer
    return label, ""


# --- names and titles ----------------------------------------------------------------------------

_TITLE_LENGTHS = sorted({len(t) for t in TITLES}, reverse=True)
_TITLE_STARTS = frozenset(t[0] for t in TITLES) | frozenset(p[0] for p in _TITLE_PREFIXES)


def _title_end(text: str, start: int) -> int:
    """End of the longest title (with an optional 副/代理/前 before it) at ``start``, or 0."""
    best = 0
    for prefix in ("",) + _TITLE_PREFIXES:
        if prefix and not text.startswith(prefix, start):
            continue
        at = start + len(prefix)
        for size in _TITLE_LENGTHS:
            if at + size <= len(text) and text[at : at + size] in TITLES:
                best = max(best, at + size)
                break
    return best


def title_spans(text: str) -> list[tuple[int, int]]:
    """Non-overlapping titles in ``text``, leftmost first, the longest at each position.

    >>> title_spans("國發會社發處張處長富林")
    [(7, 9)]
    """
    spans: list[tuple[int, int]] = []
    if _TITLE_STARTS.isdisjoint(text):
        return spans  # most names: no character a title starts with
    i = 0
    while i < len(text):
        end = _title_end(text, i) if text[i] in _TITLE_STARTS else 0
        if end:
            spans.append((i, end))
            i = end
        else:
            i += 1
    return spans


def _is_title(text: str) -> bool:
    return bool(text) and title_spans(text) == [(0, len(text))]


def _is_cjk(text: str) -> bool:
    return bool(_CJK_ONLY.match(text))


def _org_like(text: str) -> bool:
    return bool(_ORG_END.search(text)) and not _LATIN.search(text)


def name_surname(text: str) -> str:
    """The surname of ``text`` when it is a Chinese personal name by the surname lists, else "".

    A name is a surname and one or two given characters (``葉寧``, ``唐鳳``, ``呂新科``), a
    two-character surname and one or two (``歐陽娜娜``), or two surnames and two (``洪簡廷卉``).
    Text ending like an agency (``文化部``) or holding a title (``王委員``) is not a name.

    >>> name_surname("唐鳳"), name_surname("洪簡廷卉"), name_surname("文化部"), name_surname("時間")
    ('唐', '洪簡', '', '')
    """
    size = len(text)
    if not 2 <= size <= 4 or not _is_cjk(text) or text in ROLES or _STRONG_ORG_END.search(text):
        return ""
    if title_spans(text[1:]):
        return ""
    if text[:2] in COMPOUND_SURNAMES and size >= 3:
        return text[:2]
    if size <= 3 and text[0] in SURNAMES:
        return text[0]
    if size == 3 and text[0] in RARE_SURNAMES:
        return text[0]
    if size == 4 and text[0] in SURNAMES and text[1] in SURNAMES:
        return text[:2]
    return ""


def _japanese_surname(text: str) -> str:
    """The surname of a Japanese name (surname and one to three given characters), else ""."""
    if not _is_cjk(text) or title_spans(text):
        return ""
    for size in (3, 2, 1):
        surname, given = text[:size], text[size:]
        if surname in JAPANESE_SURNAMES and 1 <= len(given) <= 3 and not _JAPANESE_NOT_GIVEN.search(given):
            return surname
    return ""


# --- readings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelReading:
    """What one speaker label says on its own (see the module docstring for the kinds)."""

    label: str
    kind: str
    name: str = ""  # the person's name (kind person), or the given name alone (kind given)
    surname: str = ""  # the surname the reader recognised ("" for names written as they are)
    title: str = ""  # title or role: 召集人, 局長, 主席
    organisation: str = ""

    @property
    def person(self) -> str:
        """The person's name, or "" when the label alone names nobody."""
        return self.name if self.kind == PERSON else ""


def _person(label: str, name: str, surname: str = "", title: str = "", org: str = "") -> LabelReading:
    return LabelReading(label, PERSON, name, surname, title, org)


def _split_org_name(text: str, need_org: bool) -> tuple[str, str, str] | None:
    """(organisation, name, surname) when ``text`` is an organisation followed by a name.

    Three-character names are tried first (most common), then two and four. With ``need_org``
    the organisation must end like one and have three characters or more (``中央社蘇思云``);
    without it (a title follows the name, ``世代設計吳昀倩品牌經理``) two characters will do.
    """
    for size in (3, 2, 4):
        org, name = text[:-size], text[-size:]
        surname = name_surname(name)
        if not surname or len(org) < 2:
            continue
        if need_org and (len(org) < 3 or not _org_like(org)):
            continue
        return org, name, surname
    return None


def _trailing_surname(text: str, need_org: bool = True) -> tuple[str, str] | None:
    """(organisation, surname) when ``text`` is a surname, optionally after an organisation."""
    if text in SURNAMES or text in COMPOUND_SURNAMES:
        return "", text
    if len(text) == 2 and text[0] in SURNAMES and text[1] in SURNAMES:
        return "", text  # a married name's double surname: 洪簡(委員廷卉)
    for size in (2, 1):
        org, surname = text[:-size], text[-size:]
        if surname in SURNAMES or surname in COMPOUND_SURNAMES:
            if len(org) >= 2 and (_org_like(org) or not need_org):
                return org, surname
    return None


def _strip_titles(org: str, title: str) -> tuple[str, str]:
    """Move titles at the end of ``org`` into ``title`` (幣寶台灣執行長 + 特助)."""
    spans = title_spans(org)
    while spans and spans[-1][1] == len(org) and spans[-1][0] > 0:
        start = spans.pop()[0]
        org, title = org[:start], org[start:] + title
    return org, title


def _titled(label: str, before: str, title: str, after: str) -> LabelReading | None:
    """The reading of ``before + title + after`` around one title, or None if it does not fit."""
    if not after:
        return _title_after(label, before, title)
    if 1 <= len(after) <= 2 and _is_cjk(after) and not title_spans(after):
        found = _trailing_surname(before)
        if found:  # 姓+職稱+名: 唐召集人鳳, 國發會社發處張處長富林
            org, surname = found
            return _person(label, surname + after, surname, title, org)
    surname = name_surname(after)
    if surname and (not before or len(before) >= 2):
        org, title = _strip_titles(before, title)  # 職稱姓名: 立委陳椒華, 幣寶台灣執行長特助林本宜
        return _person(label, after, surname, title, org)
    return None


def _title_after(label: str, before: str, title: str) -> LabelReading | None:
    """``before`` followed by a title: a name, a surname, an organisation, or the title alone."""
    if not before:
        return LabelReading(label, ROLE, title=title)
    loose = title in _HONORIFICS or title == "代表"  # say nothing about the words before them
    if title == "代表" and _org_like(before):
        return LabelReading(label, ORGANISATION, title=title, organisation=before)
    surname = name_surname(before) or _japanese_surname(before)
    if surname and not (loose and len(before) == 2):
        return _person(label, before, surname, title)
    split = None if loose else _split_org_name(before, need_org=False)
    if split:
        org, name, surname = split
        return _person(label, name, surname, title, _strip_titles(org, "")[0])
    found = _trailing_surname(before, need_org=not (len(before) >= 3 and before[-1] in SURNAMES))
    if found and not (loose and title == "代表"):
        org, surname = found
        return LabelReading(label, SURNAME, surname=surname, title=title, organisation=org)
    if title in _HONORIFICS and len(before) == 2 and _is_cjk(before):
        return LabelReading(label, SURNAME, surname=before, title=title)  # 早川先生, 陽光先生
    if _org_like(before) or title == "代表":  # 內政部代表, 關貿代表: whoever speaks for them
        return LabelReading(label, ORGANISATION, title=title, organisation=before)
    return None


def _read_cjk(label: str, text: str) -> LabelReading:
    """A label part in Chinese characters only: titles are tried from the right."""
    if text in ROLES:
        return LabelReading(label, ROLE, title=text)
    if _DOTTED_NAME.match(text):
        return _person(label, text)  # 瑪格麗特・胡佛, 甘克帆‧巴宴爾
    surname = name_surname(text)
    if surname:
        return _person(label, text, surname)  # the common case, without looking for titles
    for start, end in reversed(title_spans(text)):
        reading = _titled(label, text[:start], text[start:end], text[end:])
        if reading is not None:
            return reading
    return _untitled(label, text)


def _untitled(label: str, text: str) -> LabelReading:
    """Chinese text in which no title gave a reading."""
    surname = _japanese_surname(text)
    if surname:
        kind = PERSON if len(text) > len(surname) else SURNAME
        return LabelReading(label, kind, text if kind == PERSON else "", surname)
    if text in JAPANESE_SURNAMES:
        return LabelReading(label, SURNAME, surname=text)  # 野島
    split = _split_org_name(text, need_org=True)
    if split:
        org, name, surname = split
        return _person(label, name, surname, "", org)  # 中央社蘇思云
    if any(word in text for word in _NOTE_WORDS):
        return LabelReading(label, NOTE)
    if _org_like(text):
        return LabelReading(label, ORGANISATION, organisation=text)
    if any(word in text for word in _WEAK_NOTE_WORDS):
        return LabelReading(label, NOTE)
    if len(text) == 1:
        if text in SURNAMES:
            return LabelReading(label, SURNAME, surname=text)
        return LabelReading(label, UNREAD)
    if 2 <= len(text) <= 3 and not title_spans(text) and not _AGENCY_CHARS.search(text):
        return LabelReading(label, GIVEN, name=text)  # 雨蒼, 博恩: a given name or a nickname
    return LabelReading(label, UNREAD)


def _read_latin(label: str, text: str) -> LabelReading:
    """Latin letters only: a name of capitalised words (``Audrey Tang``, ``Graziene de Souza``)."""
    if text.lower() in ROLES:
        return LabelReading(label, ROLE, title=text)
    words = text.split()
    if len(words) > 5 or words[-1].lower() in _LATIN_ROLE_WORDS:
        return LabelReading(label, UNREAD)  # NEC Dev, CHT PM: a team
    if len(words) == 1:
        return _person(label, text) if _CAPITALISED.match(text) else LabelReading(label, UNREAD)
    if not any(_CAPITALISED.match(w) for w in words) or (words[0].isupper() and len(words[0]) > 2):
        return LabelReading(label, UNREAD)
    return _person(label, text)


def _read_tokens(label: str, tokens: list[str]) -> LabelReading:
    """Space-separated parts: ``Arnold 參議員``, ``宇野 三花 様``, ``中央社 蘇思云``, ``學生 F``."""
    if tokens[0] in ROLES and all(len(t) <= 2 for t in tokens[1:]):
        return LabelReading(label, ROLE, title=tokens[0])  # 學生 F, 參與者 3
    title = ""
    if _is_title(tokens[-1]):
        title, tokens = tokens[-1], tokens[:-1]
    text = " ".join(tokens)
    if _LATIN_NAME.match(text):
        reading = _read_latin(label, text)
        return replace(reading, title=title) if reading.kind == PERSON else reading
    last = _read_core(label, tokens[-1])
    if len(tokens) > 1 and last.kind == PERSON and last.surname and not _is_cjk(tokens[0]):
        return replace(last, organisation=" ".join(tokens[:-1]), title=last.title or title)  # TVBS 李作珩
    if len(tokens) > 1 and last.kind == PERSON and last.surname and _org_like(" ".join(tokens[:-1])):
        return replace(last, organisation=" ".join(tokens[:-1]), title=last.title or title)  # 中央社 蘇思云
    if len(tokens) == 1:
        return replace(last, title=last.title or title) if last.kind in (PERSON, SURNAME) else last
    if all(_is_cjk(t) for t in tokens) and len(text) <= 8 and not _org_like(text):
        if _japanese_surname(tokens[0]) or tokens[0] in JAPANESE_SURNAMES or title in ("様", "樣"):
            return _person(label, text, tokens[0], title)  # 宇野 三花 様, 田中 德兵 衞
    return LabelReading(label, UNREAD)


def _read_numbered(label: str, text: str) -> LabelReading:
    """A number inside the label: ``學生1何同學``, ``立法委員3王婉諭``, ``黃旭田-3``, ``諮委2``."""
    match = _NUMBERED.match(text)
    if not match:
        return LabelReading(label, UNREAD)
    prefix, rest = match.group("prefix").strip(" -"), match.group("rest").strip()
    if not rest:
        # A number after a name numbers a seat or a part (黃旭田-3); anything else with a number
        # (諮委2, 回饋1, PM5, Kide0411) is an anonymous speaker or a user name.
        if "-" in text and _is_cjk(prefix):
            reading = _read_core(label, prefix)
            return reading if reading.kind in (PERSON, ORGANISATION) else LabelReading(label, UNREAD)
        return LabelReading(label, ROLE, title=prefix) if prefix in ROLES else LabelReading(label, UNREAD)
    reading = _read_core(label, rest)
    if reading.kind in (PERSON, SURNAME):
        if _is_title(prefix):
            return replace(reading, title=reading.title or prefix)
        return replace(reading, organisation=reading.organisation or prefix)
    return LabelReading(label, UNREAD)


def _read_core(label: str, text: str) -> LabelReading:
    """One part of a label, with no slash, colon or trailing parentheses left."""
    text = text.strip()
    if not text:
        return LabelReading(label, UNREAD)
    if text in ROLES or text.lower() in ROLES:
        return LabelReading(label, ROLE, title=text)
    if _MASKED.search(text):
        return LabelReading(label, UNREAD)  # 李○○: the name is withheld
    if " " in text:
        return _read_tokens(label, text.split(" "))
    if _LATIN_NAME.match(text):
        return _read_latin(label, text)
    if any(c.isdigit() for c in text):
        return _read_numbered(label, text)
    if _LATIN.search(text):
        if text.endswith("PO") and _is_cjk(text[:-2]):  # 羅PO: a participation officer
            return _title_after(label, text[:-2], "PO") or LabelReading(label, UNREAD)
        return LabelReading(label, UNREAD)
    return _read_cjk(label, text)


def _read_parenthesised(label: str, outer: str, inner: str) -> LabelReading:
    """``outer（inner）`` that split_speaker left whole: a nickname, a role, a remark or a name."""
    outside = _read_core(label, outer)
    if inner in _PAREN_REMARKS or inner.endswith(_PAREN_REMARKS[:6]):
        if outside.kind == PERSON:
            title = inner if _is_title(inner) or inner in ROLES else ""
            return replace(outside, title=outside.title or title)  # 石怡佳(司儀), 周月清（代發言）
        return outside
    if outside.kind == PERSON:
        return outside  # 黃彥霖（豆泥）, 王正文(Chris), Richard Haddock (何立德)
    name, _, where = inner.replace("，", ",").partition(",")
    inside = _read_core(label, name.strip())
    if inside.kind == PERSON and outside.kind in (ROLE, ORGANISATION, NOTE, UNREAD):
        org = where.strip() or (outer if outside.kind != ROLE else "")
        return replace(inside, organisation=inside.organisation or org)  # 觀眾（Natalie）
    return outside if outside.kind in (ROLE, ORGANISATION, NOTE) else LabelReading(label, UNREAD)


def _read_separated(label: str, text: str) -> LabelReading:
    """Organisation and name split by a slash or a colon (through :func:`split_speaker`)."""
    name, org = split_speaker(text)
    if not org:
        match = _PAREN.match(text)
        if match:
            return _read_parenthesised(label, match.group("outer").strip(), match.group("inner").strip())
        return _read_core(label, text)
    reading = _read_core(label, name)
    if "/" not in text and "／" not in text and org not in ROLES:
        before = _read_core(label, org)
        if _is_title(org) or before.kind == SURNAME:  # 科長：邱俊雄, 洪理事長：洪秀菊
            title = org if _is_title(org) else before.title
            return replace(reading, title=reading.title or title) if reading.kind == PERSON else reading
    if reading.kind in (PERSON, SURNAME, GIVEN):
        return replace(reading, organisation=f"{org}/{reading.organisation}" if reading.organisation else org)
    if reading.kind == ROLE:
        return LabelReading(label, ORGANISATION, title=reading.title, organisation=org)
    return reading


def _outside_parentheses(text: str) -> str:
    return re.sub(r"[（(][^()（）]*[)）]", "", text)


@lru_cache(maxsize=65536)
def read_label(label: str) -> LabelReading:
    """Read a speaker label into organisation, person name and title (see the module docstring).

    >>> read_label("吳委員銘軒").person, read_label("唐鳳召集人").person
    ('吳銘軒', '唐鳳')
    >>> r = read_label("臺北市資訊局/呂新科局長"); (r.organisation, r.name, r.title)
    ('臺北市資訊局', '呂新科', '局長')
    >>> read_label("唐院長").kind, read_label("主席").kind, read_label("內政部代表").kind
    ('surname', 'role', 'organisation')
    """
    text = " ".join(label.split())
    if not text:
        return LabelReading(label, NONE)
    if len(text) <= 4 and _is_cjk(text):
        surname = name_surname(text)
        if surname:
            return _person(label, text, surname)  # most labels are a bare name: 黃子維
    if text.startswith("【") and text.endswith("】"):
        return LabelReading(label, NOTE)
    outside = _outside_parentheses(text)
    if any(sep in outside for sep in _GROUP_SEPARATORS):
        return LabelReading(label, GROUP)
    if any(word in outside for word in _NOTE_WORDS) and outside not in ROLES and "提問者" not in outside:
        if not _PAREN.match(text):
            return LabelReading(label, NOTE)
    for suffix in _NOTE_SUFFIXES:  # 趙榮台補充: a written addition is still its author's
        if text.endswith(suffix) and len(text) > len(suffix) and not _PAREN.match(text):
            rest = text[: -len(suffix)]
            rest = rest[2:] if rest.startswith(_NOTE_PREFIXES) else rest
            reading = _read_separated(label, rest) if rest else LabelReading(label, NOTE)
            named = reading.kind == PERSON and reading.surname
            return reading if named or reading.kind == ORGANISATION else LabelReading(label, NOTE)
    return _read_separated(label, text)
