"""The tags the emulated model knows: each with its Chinese and English names, its v1.0 type and its v2 category.

v1.0 answers a type from the documented three (object, scene, concept); v2 answers one of twenty-odd
categories named in the requested language (Human/人类, Home category/家居, Education/教育 ... as in the
docs' examples). `boxable` tags are objects a detector can draw a bounding box around: only they get
v2 `instances`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Category:
    en: str
    zh: str


@dataclass(frozen=True)
class Tag:
    en: str
    zh: str
    v1_type: str  # object | scene | concept
    category: Category
    boxable: bool = False


HUMAN = Category("Human", "人类")
ANIMAL = Category("Animal", "动物")
PLANT = Category("Plant", "植物")
SCENERY = Category("Scenery", "风景")
BUILDING = Category("Building", "建筑")
VEHICLE = Category("Vehicle", "交通工具")
FOOD = Category("Food", "美食")
HOME = Category("Home category", "家居")
EDUCATION = Category("Education", "教育")
ELECTRONICS = Category("Electronics", "电子产品")
SPORTS = Category("Sports", "运动")
CLOTHING = Category("Clothing", "服饰")
WEATHER = Category("Weather", "天气")
ART = Category("Art", "艺术")
EVENT = Category("Event", "活动")
COLOR = Category("Color", "颜色")
TEXTURE = Category("Texture", "纹理")

_O, _S, _C = "object", "scene", "concept"

# (en, zh, v1 type, category, boxable)
_TABLE: tuple[tuple[str, str, str, Category, bool], ...] = (
    ("person", "人", _O, HUMAN, True),
    ("man", "男人", _O, HUMAN, True),
    ("woman", "女人", _O, HUMAN, True),
    ("child", "儿童", _O, HUMAN, True),
    ("crowd", "人群", _S, HUMAN, False),
    ("face", "人脸", _O, HUMAN, True),
    ("hand", "手", _O, HUMAN, True),
    ("smile", "微笑", _C, HUMAN, False),
    ("dog", "狗", _O, ANIMAL, True),
    ("cat", "猫", _O, ANIMAL, True),
    ("bird", "鸟", _O, ANIMAL, True),
    ("horse", "马", _O, ANIMAL, True),
    ("fish", "鱼", _O, ANIMAL, True),
    ("butterfly", "蝴蝶", _O, ANIMAL, True),
    ("cow", "牛", _O, ANIMAL, True),
    ("sheep", "羊", _O, ANIMAL, True),
    ("tree", "树", _O, PLANT, True),
    ("flower", "花", _O, PLANT, True),
    ("grass", "草", _O, PLANT, False),
    ("leaf", "叶子", _O, PLANT, False),
    ("forest", "森林", _S, PLANT, False),
    ("cactus", "仙人掌", _O, PLANT, True),
    ("bamboo", "竹子", _O, PLANT, False),
    ("sky", "天空", _S, SCENERY, False),
    ("cloud", "云", _O, SCENERY, False),
    ("mountain", "山", _S, SCENERY, False),
    ("beach", "海滩", _S, SCENERY, False),
    ("lake", "湖泊", _S, SCENERY, False),
    ("river", "河流", _S, SCENERY, False),
    ("sea", "大海", _S, SCENERY, False),
    ("sunset", "日落", _S, SCENERY, False),
    ("snow", "雪", _S, SCENERY, False),
    ("desert", "沙漠", _S, SCENERY, False),
    ("landscape", "风景", _S, SCENERY, False),
    ("night", "夜晚", _C, SCENERY, False),
    ("building", "建筑物", _O, BUILDING, True),
    ("house", "房子", _O, BUILDING, True),
    ("bridge", "桥", _O, BUILDING, True),
    ("tower", "塔", _O, BUILDING, True),
    ("street", "街道", _S, BUILDING, False),
    ("city", "城市", _S, BUILDING, False),
    ("window", "窗户", _O, BUILDING, True),
    ("door", "门", _O, BUILDING, True),
    ("church", "教堂", _O, BUILDING, True),
    ("skyscraper", "摩天大楼", _O, BUILDING, True),
    ("car", "汽车", _O, VEHICLE, True),
    ("bicycle", "自行车", _O, VEHICLE, True),
    ("bus", "公共汽车", _O, VEHICLE, True),
    ("train", "火车", _O, VEHICLE, True),
    ("airplane", "飞机", _O, VEHICLE, True),
    ("boat", "船", _O, VEHICLE, True),
    ("motorcycle", "摩托车", _O, VEHICLE, True),
    ("truck", "卡车", _O, VEHICLE, True),
    ("food", "食物", _O, FOOD, False),
    ("fruit", "水果", _O, FOOD, True),
    ("apple", "苹果", _O, FOOD, True),
    ("cake", "蛋糕", _O, FOOD, True),
    ("coffee", "咖啡", _O, FOOD, True),
    ("bread", "面包", _O, FOOD, True),
    ("noodles", "面条", _O, FOOD, False),
    ("tea", "茶", _O, FOOD, False),
    ("bed", "床", _O, HOME, True),
    ("sofa", "沙发", _O, HOME, True),
    ("chair", "椅子", _O, HOME, True),
    ("table", "桌子", _O, HOME, True),
    ("lamp", "灯", _O, HOME, True),
    ("kitchen", "厨房", _S, HOME, False),
    ("bedroom", "卧室", _S, HOME, False),
    ("living room", "客厅", _S, HOME, False),
    ("cup", "杯子", _O, HOME, True),
    ("clock", "时钟", _O, HOME, True),
    ("book", "书", _O, EDUCATION, True),
    ("pen", "笔", _O, EDUCATION, True),
    ("blackboard", "黑板", _O, EDUCATION, True),
    ("classroom", "教室", _S, EDUCATION, False),
    ("paper", "纸", _O, EDUCATION, False),
    ("notebook", "笔记本", _O, EDUCATION, True),
    ("computer", "电脑", _O, ELECTRONICS, True),
    ("mobile phone", "手机", _O, ELECTRONICS, True),
    ("television", "电视", _O, ELECTRONICS, True),
    ("keyboard", "键盘", _O, ELECTRONICS, True),
    ("camera", "相机", _O, ELECTRONICS, True),
    ("screen", "屏幕", _O, ELECTRONICS, False),
    ("football", "足球", _O, SPORTS, True),
    ("basketball", "篮球", _O, SPORTS, True),
    ("swimming", "游泳", _C, SPORTS, False),
    ("running", "跑步", _C, SPORTS, False),
    ("stadium", "体育场", _S, SPORTS, False),
    ("tennis", "网球", _O, SPORTS, True),
    ("clothing", "服装", _O, CLOTHING, False),
    ("shoe", "鞋", _O, CLOTHING, True),
    ("hat", "帽子", _O, CLOTHING, True),
    ("glasses", "眼镜", _O, CLOTHING, True),
    ("bag", "包", _O, CLOTHING, True),
    ("dress", "连衣裙", _O, CLOTHING, True),
    ("rain", "雨", _S, WEATHER, False),
    ("fog", "雾", _S, WEATHER, False),
    ("sunshine", "阳光", _C, WEATHER, False),
    ("rainbow", "彩虹", _O, WEATHER, False),
    ("painting", "绘画", _O, ART, False),
    ("sculpture", "雕塑", _O, ART, True),
    ("pattern", "图案", _C, ART, False),
    ("design", "设计", _C, ART, False),
    ("graffiti", "涂鸦", _O, ART, False),
    ("wedding", "婚礼", _C, EVENT, False),
    ("party", "聚会", _C, EVENT, False),
    ("festival", "节日", _C, EVENT, False),
    ("concert", "音乐会", _C, EVENT, False),
    ("red", "红色", _C, COLOR, False),
    ("blue", "蓝色", _C, COLOR, False),
    ("green", "绿色", _C, COLOR, False),
    ("black and white", "黑白", _C, COLOR, False),
    ("colorful", "多彩", _C, COLOR, False),
    ("wood", "木材", _C, TEXTURE, False),
    ("stone", "石头", _O, TEXTURE, False),
    ("metal", "金属", _C, TEXTURE, False),
)

VOCABULARY: tuple[Tag, ...] = tuple(Tag(en, zh, kind, category, boxable) for en, zh, kind, category, boxable in _TABLE)
