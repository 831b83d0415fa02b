"""Known spelling variants, nicknames, titles and particles of person names, for the name matcher.

Each group lists lower-case Latin spellings (after transliteration) that are taken as the same
name part. A spelling may sit in several groups ("ben" is both a patronymic particle and a short
form of Benjamin). Keep groups small and certain: a wrong group here is a false match everywhere.
"""

from __future__ import annotations

VARIANT_GROUPS: tuple[str, ...] = (
    # Arabic and Persian given names in their common romanisations
    "mohammed muhammad mohammad mohamed mohamad muhammed mohammud mohamud mohd mehmet mehmed "
    "muhamad mochammad mochamad muhamed mukhammad magomed maxamed",
    "ahmed ahmad ahmet achmad akhmed",
    "mahmoud mahmood mahmud mehmood",
    "abdul abd abdel abdal abdol abdoul abdu cabdul",
    "abdullah abdallah abdulla abdalla abdellah abdoulah cabdullaahi abdullahi",
    "abdulrahman abdurrahman abdelrahman abdurahman abdalrahman",
    "bin ibn ben bn",
    "osama usama usamah ousama",
    "hussein husein hussain husain hossein husayn hussien",
    "hassan hasan hasen",
    "hosni husni",
    "ali aly alee",
    "omar umar omer",
    "othman uthman osman usman",
    "yusuf yousef youssef yousuf yusef jusuf",
    "ibrahim ebrahim ibraheem",
    "khaled khalid",
    "mustafa mostafa moustafa mustapha",
    "said saeed sayed sayyid sayyed saeid",
    "yahya yahia yehia",
    "abu abou",
    "laden ladin",
    "salah saleh salih",
    "jamal gamal",
    "rahim raheem",
    "karim kareem",
    "nur noor nour",
    "abdelaziz abdulaziz",
    "ahmadinejad ahmadinezhad",
    # Slavic and Greek given names and their western forms
    "alexander aleksandr alexandr aleksander alexandre alessandro alejandro oleksandr alexandros "
    "aleksandar alexandru aleksandre",
    "sergei sergey serguei sergej sergejs sergii serhii serhiy sergiy",
    "dmitry dmitri dmitrii dmitriy dmytro",
    "nikolai nikolay nicholas nikolaos mykola nicolas nicola nikola",
    "vladimir volodymyr wladimir wolodymyr uladzimir",
    "mikhail michael mykhailo michel mikhael michal",
    "yevgeny evgeny yevgeniy evgenii evgeniy eugene",
    "yuri yury iurii yuriy jurij yurii",
    "pyotr petr peter pierre pedro pietro petro",
    "ivan john jean juan giovanni johann johannes jan ioannis",
    "joseph jose giuseppe yosef josef",
    "andrei andrey andriy andrew andre andreas",
    "alexei alexey aleksei aleksey oleksiy",
    "arkady arkadii arkadiy",
    "fyodor fedor theodore",
    "grigory grigori gregory",
    "ilya ilia elijah",
    "anatoly anatolii anatoliy",
    "viktor victor",
    "yelena elena helen",
    "tatiana tatyana",
    "olga olha",
    # Nicknames and short forms
    "benjamin bibi ben binyamin",
    "william bill will billy",
    "robert bob rob bobby",
    "richard dick rick",
    "james jim jimmy",
    "michael mike",
    "thomas tom",
    "anthony tony antonio",
    "alexander alex sasha",
    "katherine catherine ekaterina yekaterina kate",
    "elizabeth elisabeth liz",
    "margaret peggy",
    "lawrence larry",
    "edward ted ed",
    "charles chuck",
    "henry harry hank",
    "john jack",
    "emmanuel emanuel",
    # Korean family names in their Latin forms
    "kim gim",
    "lee i yi ri rhee",
    "park pak bak bag",
    "choi choe",
    "jung jong chung jeong",
    "kang gang",
    "cho jo",
    "yoon yun",
    "jang chang",
    "lim im rim",
    # Chinese in Wade-Giles and Pinyin
    "xi hsi",
    "jinping chinping",
    "zedong tsetung",
)

# Words that are not part of the name itself: honorifics, ranks, suffixes and company forms.
_TITLE_WORDS = (
    "mr mrs ms miss mx dr doctor prof professor sir dame lord lady hon rev father "
    "president prasident praesident prince princess king queen "
    "general gen colonel col capt captain major maj lieutenant lt "
    "sheikh shaikh shaykh sheik haji hajji hadji alhaji mullah mulla maulana maulavi mawlawi "
    "mawlavi qari mufti imam ayatollah "
    "jr sr ii iii iv llc ltd inc gmbh plc"
)
TITLES: frozenset[str] = frozenset(_TITLE_WORDS.split(" "))

# Connecting particles: kept, but they carry little weight.
_PARTICLE_WORDS = (
    "al el bin ibn ben bn bint binti ould ag de del della da di do dos das du la le van von der "
    "den ter y e na"
)
PARTICLES: frozenset[str] = frozenset(_PARTICLE_WORDS.split(" "))
