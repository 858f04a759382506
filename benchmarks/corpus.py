"""A deterministic generator of realistic IT-support articles in kb's file format.

Why generated: benchmarks need corpora of 1k-50k articles, far more than the starter articles,
and must be reproducible on any machine without downloading data. Why this shape: search cost
depends on how text looks to the index (how many distinct terms, how skewed their frequencies,
how many code-like tokens), so the generator aims for the statistics of a real support KB rather
than for prose quality:

- content words follow a Zipf law over a few thousand words: real support words at the head,
  generated pseudo-words (in-house app names, jargon, rare words) in the long tail;
- error codes (0x80070005, KB5034441, ERR_CERT_DATE_INVALID, AADSTS50076) are drawn from a
  Zipf-weighted pool, so a few appear in thousands of articles and most in a handful;
- every article has kb's understanding-first sections, with 3-6 quoted customer phrasings.

Each article is generated from its own seeded `random.Random`, so the first 1,000 articles of the
10k corpus are exactly the 1k corpus, whatever the size asked for. Only the standard library is used.
"""

from __future__ import annotations

import bisect
import itertools
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

SEED = 20240607
ZIPF_EXPONENT = 1.05
VOCABULARY_SIZE = 5000  # content words: the real ones below, then pseudo-words
CODE_POOL_SIZE = 3000
MIN_WORDS, MAX_WORDS = 340, 830  # aimed so bodies land at about 300-900 words


def _words(text: str) -> list[str]:
    """Split a word list, dropping duplicates but keeping order (order is frequency rank)."""
    return list(dict.fromkeys(text.split()))


# Real support vocabulary, roughly most frequent first: the head of each Zipf distribution.
NOUNS = _words(
    """user account password device computer laptop network connection email message file folder
    setting update error server profile application app screen window certificate policy driver
    session token mailbox calendar meeting printer queue license service client browser page site
    link code phone camera microphone headset audio display monitor keyboard mouse battery charger
    dock cable adapter port drive disk storage space backup copy version build patch release setup
    installer package group permission access role admin administrator manager team colleague
    customer ticket incident request change problem issue cause symptom step option workaround fix
    restart cache credential key registry process task schedule log event report record entry list
    table field value name address domain tenant directory organisation office home location region
    time clock date morning week hour minute attempt prompt dialog box button menu tab toolbar icon
    notification alert warning banner status state mode feature function tool utility command script
    shortcut desktop taskbar signature attachment inbox rule contact invite chat channel call
    recording status presence share link library document spreadsheet template macro add-in plugin
    extension proxy firewall gateway tunnel route subnet dns dhcp lease router switch access point
    signal band channel ssid portal hotspot bandwidth latency speed traffic packet timeout retry
    authentication authorization sign-in login logon lockout reset expiry recovery verification
    approval method authenticator app number text call fingerprint face pin smartcard badge
    encryption bitlocker tpm bios firmware uefi boot partition volume sector memory cpu processor
    fan temperature heat power sleep hibernation lid charge cycle warranty replacement repair
    vendor model serial asset inventory image deployment enrolment intune compliance baseline
    antivirus defender scan threat quarantine phishing link sender spam junk filter attachment
    headset speaker volume echo noise feedback bluetooth pairing receiver dongle webcam resolution
    refresh rate scaling cursor touchpad trackpad stylus pen dock station hub usb hdmi displayport
    socket outlet desk floor building reception visitor guest wifi vpn mfa sso saml oauth api
    endpoint url hostname ip mac gateway mask scope reservation pool spooler tray toner paper jam
    cartridge duplex staple scanner fax copier badge release printout queue job spool sharepoint
    onedrive teams outlook exchange excel word powerpoint onenote windows mac ios android chrome
    edge firefox safari zoom webex citrix remote desktop rdp vdi azure entra tenant subscription
    quota limit size archive retention mailbox delegate calendar room resource booking agenda
    reminder alarm timezone holiday leave payroll expense invoice purchase order approval workflow
    form survey training course handover shift escalation priority severity impact urgency sla
    owner requester approver member guest external partner supplier contractor student teacher
    patient doctor nurse clinic ward school campus branch store warehouse factory line kiosk
    terminal scanner till cash register pos card reader chip contactless pinpad receipt"""
)

VERBS = _words(
    """open close restart sign check update install remove reset clear connect disconnect sync
    share send receive print scan load save delete restore recover enable disable allow block run
    start stop change set add create join leave lock unlock verify confirm approve deny expire
    renew refresh rebuild repair reinstall upgrade download upload map mount attach detach forward
    redirect resolve route ping test trace monitor report escalate assign move copy rename search
    find index filter sort export import migrate register enroll activate deactivate configure
    deploy push pull apply edit select click tap type enter press drag drop launch crash freeze hang
    fail retry wait skip ignore accept decline trust revoke rotate encrypt decrypt back archive
    compress extract rollback defer pause resume reconnect reauthenticate reboot shut wake charge
    plug unplug swap replace clean wipe format partition flash patch whitelist quarantine release
    flag mark snooze mute unmute record present annotate schedule book cancel reschedule invite
    notify alert warn inform call email message chat ask tell explain show guide walk document
    note log collect gather compare measure count read write sign-out log-off pin unpin hide
    unhide dock undock split merge link unlink publish unpublish grant request delegate inherit"""
)

ADJECTIVES = _words(
    """new old current default local remote shared personal corporate internal external wrong
    correct missing slow fast stuck offline online blank grey red green yellow empty full expired
    locked disabled enabled cached stale corrupt damaged broken intermittent random frequent recent
    latest previous first last next same different specific whole single multiple several usual
    common rare quick simple safe secure unsafe suspicious unknown invalid valid temporary permanent
    manual automatic wireless wired mobile primary secondary hidden visible available unavailable
    busy idle quiet loud black white small large long short high low weak strong clean fresh
    managed unmanaged compliant noncompliant legacy modern supported unsupported required optional
    basic advanced physical virtual public private encrypted unencrypted signed unsigned trusted
    untrusted pending failed successful partial complete incomplete outdated obsolete duplicate
    orphaned inherited explicit implicit hybrid joined registered unregistered licensed unlicensed
    metered unmetered dual single native generic proprietary cloud on-premises regional global
    daily weekly monthly nightly hourly overnight early late again already usually often sometimes
    rarely always never quickly slowly briefly suddenly randomly repeatedly immediately eventually"""
)

STOP_WORDS = frozenset(
    """a an the and or but if then so to of in on at by for with from into onto over under after
    before when while is are was were be been being it its this that these those there here can
    may will would should could must might not no do does did has have had as up out off about
    than too also only just even still again once all any each every both few more most other some
    such own same i me my we our you your he she they them their what which who whom how why where
    keeps keep says say said since won't can't doesn't isn't don't didn't it's i'm because cannot
    shows show need needs usually simply typically nothing itself""".split()
)


@dataclass(frozen=True)
class Product:
    """A product with the words, symptoms and commands its articles draw on."""

    name: str
    weight: float  # how often articles are about it
    tags: tuple[str, ...]
    terms: tuple[str, ...]  # product-specific nouns, used often in its articles
    symptoms: tuple[str, ...]  # customer voice, after "<product> ..." or "my <product> ..."
    commands: tuple[str, ...]
    code_kinds: tuple[str, ...]  # which families of error codes show up for it


GENERAL_COMMANDS = (
    "ipconfig /flushdns",
    "ipconfig /all",
    "ipconfig /release",
    "ipconfig /renew",
    "gpupdate /force",
    "gpresult /r",
    "sfc /scannow",
    "DISM /Online /Cleanup-Image /RestoreHealth",
    "chkdsk C: /f",
    "netsh winsock reset",
    "whoami /groups",
    "klist purge",
    "dsregcmd /status",
    "shutdown /r /t 0",
    "systeminfo",
    "msinfo32",
    "eventvwr.msc",
    "services.msc",
    "devmgmt.msc",
    "control keymgr.dll",
)

PRODUCTS: tuple[Product, ...] = (
    Product(
        "Outlook",
        9,
        ("email", "outlook"),
        (
            "mailbox",
            "profile",
            "inbox",
            "calendar",
            "attachment",
            "signature",
            "ost",
            "pst",
            "rules",
            "add-in",
            "search index",
            "shared mailbox",
        ),
        (
            "keeps asking for my password",
            "is stuck on loading profile",
            "won't open",
            "search shows no results",
            "is not receiving emails",
            "says disconnected",
            "crashes when I open an attachment",
            "is missing calendar invites",
            "says my mailbox is full",
            "won't send anything",
        ),
        ("outlook.exe /safe", "outlook.exe /resetnavpane", "cmdkey /list", "Get-MailboxStatistics"),
        ("hex", "aadsts"),
    ),
    Product(
        "Teams",
        8,
        ("teams", "meetings"),
        (
            "meeting",
            "microphone",
            "camera",
            "chat",
            "channel",
            "status",
            "presence",
            "screen sharing",
            "notifications",
            "cache",
        ),
        (
            "can't hear anyone in meetings",
            "shows a black camera",
            "shows me as away all the time",
            "won't load",
            "can't share my screen",
            "messages are not sending",
            "keeps signing me out",
            "is stuck on a white screen",
        ),
        ("taskkill /im ms-teams.exe /f", "%appdata%\\Microsoft\\Teams", "Get-AppxPackage MSTeams"),
        ("hex", "aadsts"),
    ),
    Product(
        "VPN",
        8,
        ("vpn", "network"),
        (
            "tunnel",
            "gateway",
            "client",
            "certificate",
            "split tunnel",
            "route",
            "GlobalProtect",
            "AnyConnect",
            "portal",
        ),
        (
            "says connected but nothing loads",
            "won't connect",
            "disconnects every few minutes",
            "asks for a certificate",
            "is really slow",
            "fails at home but works in the office",
        ),
        (
            "route print",
            "Test-NetConnection vpn.contoso.com -Port 443",
            "nslookup intranet.contoso.com",
            "tracert 10.10.0.1",
        ),
        ("hex", "name"),
    ),
    Product(
        "Windows",
        9,
        ("windows", "desktop"),
        ("update", "profile", "start menu", "drivers", "blue screen", "BitLocker", "disk", "taskbar", "login screen"),
        (
            "update keeps failing",
            "is very slow",
            "restarts by itself",
            "shows a blue screen",
            "says the disk is full",
            "asks for a BitLocker recovery key",
            "is stuck on the welcome screen",
        ),
        (
            "usoclient StartScan",
            "Get-WindowsUpdateLog",
            "manage-bde -status",
            "powercfg /batteryreport",
            "wuauclt /detectnow",
        ),
        ("hex", "kb", "stop"),
    ),
    Product(
        "OneDrive",
        6,
        ("onedrive", "files"),
        ("sync", "files", "folder", "storage", "share link", "Files On-Demand", "known folder"),
        (
            "is not syncing",
            "shows a red cross on my files",
            "says I'm out of space",
            "keeps asking me to sign in",
            "lost my files",
            "says there are sync conflicts",
        ),
        ("%localappdata%\\Microsoft\\OneDrive\\onedrive.exe /reset",),
        ("hex",),
    ),
    Product(
        "Printer",
        6,
        ("printing", "printer"),
        ("queue", "spooler", "driver", "toner", "tray", "paper jam", "scan to email", "print server"),
        (
            "shows offline",
            "jobs are stuck in the queue",
            "prints blank pages",
            "scan to email doesn't work",
            "prints garbage characters",
            "asks for admin rights to install",
        ),
        ("net stop spooler", "net start spooler", "Get-Printer", "printui /s /t2"),
        ("hex",),
    ),
    Product(
        "Wi-Fi",
        6,
        ("wifi", "network"),
        ("access point", "adapter", "SSID", "signal", "captive portal", "DHCP", "band"),
        (
            "keeps dropping",
            "is connected but no internet",
            "can't see the office network",
            "is very slow in the meeting rooms",
            "asks for a password again",
        ),
        ("netsh wlan show interfaces", "netsh wlan show profiles", "Get-NetAdapter", "arp -a"),
        ("hex", "name"),
    ),
    Product(
        "MFA",
        5,
        ("mfa", "sign-in"),
        ("authenticator", "code", "number matching", "phone", "approval", "method"),
        (
            "codes are not arriving",
            "doesn't work on my new phone",
            "keeps prompting me",
            "says the number doesn't match",
            "is asking me to approve sign-ins I didn't do",
        ),
        ("dsregcmd /status",),
        ("aadsts",),
    ),
    Product(
        "Browser",
        5,
        ("browser", "web"),
        ("certificate", "page", "proxy", "extension", "cookies", "cache", "Edge", "Chrome"),
        (
            "shows a certificate warning",
            "says the page can't be reached",
            "keeps redirecting",
            "is blocking the intranet",
            "won't download files",
        ),
        ("certutil -store root", "nslookup intranet.contoso.com", "netsh winhttp show proxy"),
        ("name",),
    ),
    Product(
        "SharePoint",
        4,
        ("sharepoint", "files"),
        ("site", "library", "permission", "list", "version history", "access request"),
        ("says access denied", "won't open the document", "lost the version I need", "is really slow to load"),
        ("Get-SPOSite",),
        ("hex", "aadsts"),
    ),
    Product(
        "Office",
        4,
        ("office", "licensing"),
        ("license", "activation", "Word", "Excel", "PowerPoint", "subscription", "update channel"),
        (
            "says unlicensed product",
            "keeps asking me to activate",
            "Excel freezes when I open big files",
            "Word crashes on startup",
        ),
        ("cscript ospp.vbs /dstatus", "OfficeC2RClient.exe /update user"),
        ("hex", "aadsts"),
    ),
    Product(
        "Active Directory",
        4,
        ("account", "password"),
        ("account", "lockout", "password policy", "domain controller", "group", "expiry"),
        (
            "says my account is locked",
            "won't accept my new password",
            "says my password expired",
            "doesn't let me into the shared drive",
        ),
        ("net user %username% /domain", "Get-ADUser -Identity jdoe -Properties LockedOut", "whoami /groups"),
        ("aadsts", "hex"),
    ),
    Product(
        "Mapped drive",
        3,
        ("files", "network"),
        ("drive letter", "share", "file server", "DFS", "credentials"),
        ("shows a red X", "disappeared after the restart", "asks for a password", "opens files very slowly"),
        ("net use", "net use * /delete", "Test-Path \\\\fs01\\shared"),
        ("hex",),
    ),
    Product(
        "Bluetooth",
        2,
        ("bluetooth", "audio"),
        ("headset", "pairing", "receiver", "driver", "audio device"),
        ("headset won't pair", "sound cuts out", "mic is not detected", "keeps disconnecting"),
        ("Get-PnpDevice -Class Bluetooth",),
        ("hex",),
    ),
    Product(
        "Monitor",
        2,
        ("display", "hardware"),
        ("dock", "HDMI", "DisplayPort", "resolution", "scaling", "graphics driver"),
        ("external screen says no signal", "screen is flickering", "is blurry", "won't wake up after lunch"),
        ("DisplaySwitch.exe /extend",),
        ("hex",),
    ),
    Product(
        "Laptop",
        3,
        ("hardware", "laptop"),
        ("battery", "fan", "charger", "BIOS", "firmware", "keyboard"),
        (
            "battery drains very fast",
            "fan is really loud",
            "won't turn on",
            "is overheating",
            "keyboard stopped working",
        ),
        ("powercfg /batteryreport", "powercfg /sleepstudy"),
        ("hex", "stop"),
    ),
    Product(
        "Remote Desktop",
        3,
        ("rdp", "remote"),
        ("session", "gateway", "host", "Citrix", "receiver", "published app"),
        (
            "says the remote computer can't be found",
            "disconnects all the time",
            "is black after login",
            "asks for credentials twice",
        ),
        ("mstsc /admin", "qwinsta", "Test-NetConnection rdgw.contoso.com -Port 443"),
        ("hex", "name"),
    ),
    Product(
        "Mobile email",
        3,
        ("email", "mobile"),
        ("phone", "Outlook app", "ActiveSync", "Intune", "company portal"),
        ("mail stopped syncing on my phone", "asks me to install Company Portal", "says the device is not compliant"),
        ("Get-MobileDevice",),
        ("aadsts",),
    ),
)

CUSTOMER_OPENERS = ("", "", "", "my ", "the ", "")
CUSTOMER_TAILS = (
    "",
    "",
    "",
    " since this morning",
    " again",
    " since the update",
    " after I changed my password",
    " when I work from home",
    " in the office",
    " every time I restart",
    " all of a sudden",
    " and I have a meeting in ten minutes",
    " for the whole team",
    " on my new laptop",
)
TITLE_TAILS = (
    "",
    " after an update",
    " after a password change",
    " on a new laptop",
    " when working from home",
    " for one user only",
    " for the whole team",
    " with {code}",
    " showing {code}",
    " on the {adj} {noun}",
)

# Sentence templates. Slots: {product} {term} {noun} {verb} {adj} {code} {cmd}.
EXPLAIN = (
    "{product} tries to {verb} the {noun} through the {adj} {term}, so a {adj} {noun} can stop the whole {noun}.",
    "When the {term} is {adj}, {product} cannot {verb} the {noun} and shows {code}.",
    "The {noun} is not the real cause: the {adj} {term} on the {noun} is.",
    "Most of the time the {noun} is fine and the {term} only needs to {verb} again.",
    "This happens because the {adj} {noun} keeps an old {noun} that no longer matches the {term}.",
    "People usually notice it after a {noun} {noun}, because {product} has to {verb} the {term} again.",
    "If the {noun} was {adj} recently, the {term} may still hold the {adj} {noun}.",
    "Error {code} means the {noun} was refused, typically because the {term} is {adj}.",
    "The {term} depends on the {noun}, the {noun} and a {adj} {noun}; any of them can break it.",
    "On {adj} devices the {noun} is handled by the {noun}, which is why the {term} looks {adj}.",
    "A {adj} {noun} can also {verb} the {term} for a while, then the problem comes back.",
    "Nothing is wrong with the {noun} itself; {product} simply cannot {verb} the {term} in time.",
)
CONFIRM = (
    "**Does it happen on another {noun}?** If not, the problem is the {adj} {term} on this one.",
    "**Did the {noun} change recently?** A {adj} {noun} makes the {term} the prime suspect.",
    "**Can the customer {verb} the {noun} in the browser?** Then the account is fine and the issue is local.",
    "**What does the {noun} say?** {code} points at the {term}; anything else points at the {noun}.",
    "**Is the {term} {adj}?** Check it in the {noun} before changing anything.",
    "**Do other people on the same {noun} see it?** Then it is the {noun}, not the {term}.",
)
STEPS = (
    "Ask the customer to {verb} the {noun} and {verb} {product} again.",
    "Open the {noun} settings, select the {term} and choose **{Verb}**.",
    "Run `{cmd}` and check the {noun} in the output.",
    "{Verb} the {adj} {term}, then sign out of {product} and back in.",
    "Remove the {adj} {noun} from the {noun} list and {verb} it again.",
    "If {code} still shows, {verb} the {term} from the {noun} portal.",
    "Restart the device, open {product} and confirm the {term} is {adj}.",
    "Escalate to the {noun} team with the {code} details and the {noun} name.",
)
PREVENT = (
    "Keep the {term} {adj} and review it every {noun}.",
    "Tell people to {verb} the {noun} before they {verb} the {term}.",
    "Avoid policies that {verb} the {adj} {noun} on managed devices.",
    "Monitor the {noun} for {code} and act before customers notice.",
    "Document the {adj} {term} in the {noun} handover.",
)
RESOLUTION_HEADINGS = (
    "Clear the {adj} {term} (start here)",
    "{Verb} the {term}",
    "Reset the {noun}",
    "Still failing",
    "If it only affects one {noun}",
    "Rebuild the {term}",
)

_SLOT = re.compile(r"\{(\w+)\}")


class ZipfSampler:
    """Draws items with probability proportional to 1 / rank**s (rank = position in the list)."""

    def __init__(self, items: Sequence[str], exponent: float = ZIPF_EXPONENT):
        self.items = list(items)
        weights = [1.0 / (rank**exponent) for rank in range(1, len(self.items) + 1)]
        self._cumulative = list(itertools.accumulate(weights))

    def draw(self, rng: random.Random) -> str:
        point = rng.random() * self._cumulative[-1]
        return self.items[bisect.bisect_right(self._cumulative, point)]


def pseudo_words(count: int, taken: set[str], seed: int = SEED) -> list[str]:
    """`count` pronounceable made-up words, none of them real vocabulary: the long tail."""
    rng = random.Random(f"{seed}:pseudo")
    onsets = "b br c ch d dr f fl g gr h j k l m n p pl qu r s sh st t tr v w z".split()
    vowels = "a e i o u ai ea ou io".split()
    codas = ["", "", "n", "r", "l", "s", "t", "x", "nd", "rk", "m"]
    found: dict[str, None] = {}
    while len(found) < count:
        word = "".join(
            rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas) for _ in range(rng.choice((2, 2, 3)))
        )
        if word not in taken and word not in found and 5 <= len(word) <= 12:
            found[word] = None
    return list(found)


def code_pool(size: int = CODE_POOL_SIZE, seed: int = SEED) -> dict[str, list[str]]:
    """Error codes by family, well-known ones first so the Zipf head holds the famous codes."""
    rng = random.Random(f"{seed}:codes")
    pool = {
        "hex": [
            "0x80070005",
            "0x800f0922",
            "0x80073712",
            "0x8024402c",
            "0x80070643",
            "0x800705b4",
            "0x80004005",
            "0xc1900101",
            "0xCAA20003",
            "0xCAA70004",
            "0x0000011b",
            "0x00000709",
            "0x8004de40",
            "0x80190001",
        ],
        "kb": ["KB5034441", "KB5034122", "KB5031356", "KB5029244", "KB5035845"],
        "aadsts": [
            "AADSTS50076",
            "AADSTS50079",
            "AADSTS50126",
            "AADSTS50053",
            "AADSTS50058",
            "AADSTS53003",
            "AADSTS700016",
            "AADSTS65001",
            "AADSTS50105",
            "AADSTS90072",
        ],
        "name": [
            "ERR_CERT_DATE_INVALID",
            "ERR_CERT_AUTHORITY_INVALID",
            "ERR_NAME_NOT_RESOLVED",
            "ERR_CONNECTION_TIMED_OUT",
            "DNS_PROBE_FINISHED_NXDOMAIN",
            "ERR_SSL_PROTOCOL_ERROR",
            "ERR_CONNECTION_RESET",
            "ERR_PROXY_CONNECTION_FAILED",
            "ERR_TUNNEL_CONNECTION_FAILED",
        ],
        "stop": [
            "IRQL_NOT_LESS_OR_EQUAL",
            "CRITICAL_PROCESS_DIED",
            "PAGE_FAULT_IN_NONPAGED_AREA",
            "DRIVER_POWER_STATE_FAILURE",
            "INACCESSIBLE_BOOT_DEVICE",
            "KERNEL_SECURITY_CHECK_FAILURE",
            "VIDEO_TDR_FAILURE",
            "SYSTEM_SERVICE_EXCEPTION",
            "WHEA_UNCORRECTABLE_ERROR",
        ],
    }
    makers = {
        "hex": lambda: (
            rng.choice(("0x8007", "0x8024", "0x800f", "0xcaa2", "0xc00d", "0x8004", "0x8019"))
            + f"{rng.randrange(16**4):04x}"
        ),
        "kb": lambda: f"KB50{rng.randrange(10**5):05d}",
        "aadsts": lambda: f"AADSTS{rng.choice((50, 53, 65, 70, 90))}{rng.randrange(1000):03d}",
        "name": lambda: (
            "ERR_"
            + "_".join(
                rng.sample(
                    (
                        "CERT",
                        "NAME",
                        "CONNECTION",
                        "PROXY",
                        "SSL",
                        "TUNNEL",
                        "ADDRESS",
                        "NETWORK",
                        "TIMED",
                        "OUT",
                        "INVALID",
                        "FAILED",
                        "REFUSED",
                        "CHANGED",
                        "BLOCKED",
                        "CACHE",
                        "MISS",
                        "ACCESS",
                        "DENIED",
                    ),
                    rng.choice((2, 3)),
                )
            )
        ),
        "stop": lambda: "_".join(
            rng.sample(
                (
                    "DRIVER",
                    "KERNEL",
                    "MEMORY",
                    "PAGE",
                    "FAULT",
                    "SYSTEM",
                    "THREAD",
                    "EXCEPTION",
                    "BOOT",
                    "DEVICE",
                    "POWER",
                    "STATE",
                    "FAILURE",
                    "CORRUPTION",
                    "WATCHDOG",
                    "VIOLATION",
                    "CHECK",
                ),
                3,
            )
        ),
    }
    families = list(pool)
    while sum(len(codes) for codes in pool.values()) < size:
        family = families[rng.randrange(len(families))]
        code = makers[family]()
        if code not in pool[family]:
            pool[family].append(code)
    return pool


@dataclass
class Article:
    """One generated article: front matter fields and the Markdown body."""

    slug: str
    title: str
    summary: str
    product: str
    tags: list[str]
    body: str
    codes: list[str] = field(default_factory=list)

    def to_file(self) -> str:
        """The article in kb's import format (front matter in kb's own key order)."""
        tags = "".join(f"- {tag}\n" for tag in self.tags)
        return (
            f"---\ntitle: {_yaml(self.title)}\nslug: {self.slug}\nsummary: {_yaml(self.summary)}\n"
            f"product: {_yaml(self.product)}\naudience: internal\nstatus: published\ntags:\n{tags}---\n{self.body}"
        )


def _yaml(text: str) -> str:
    """A YAML scalar: quoted whenever plain style could be misread."""
    if re.fullmatch(r"[A-Za-z][\w .,()'/-]*", text) and ": " not in text and not text.endswith(":"):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Generator:
    """Builds articles; holds the shared, seed-derived vocabulary, code pool and samplers."""

    def __init__(self, seed: int = SEED):
        self.seed = seed
        real = NOUNS + VERBS + ADJECTIVES
        tail = pseudo_words(VOCABULARY_SIZE - len(set(real)), set(real) | STOP_WORDS, seed)
        half, quarter = len(tail) // 2, len(tail) // 4
        self.nouns = ZipfSampler(NOUNS + tail[:half])
        self.verbs = ZipfSampler(VERBS + tail[half : half + quarter])
        self.adjectives = ZipfSampler(ADJECTIVES + tail[half + quarter :])
        self.codes = {family: ZipfSampler(codes) for family, codes in code_pool(seed=seed).items()}
        self.products = PRODUCTS
        self._product_weights = list(itertools.accumulate(p.weight for p in PRODUCTS))

    @property
    def vocabulary(self) -> list[str]:
        """Every content word the generator can emit, most frequent first within each part of speech."""
        return list(dict.fromkeys(self.nouns.items + self.verbs.items + self.adjectives.items))

    def article(self, number: int) -> Article:
        """Article `number`: the same for a given seed, whatever else is generated."""
        rng = random.Random(f"{self.seed}:article:{number}")
        product = self.products[bisect.bisect_right(self._product_weights, rng.random() * self._product_weights[-1])]
        writer = _ArticleWriter(self, rng, product)
        return writer.write(number)

    def articles(self, count: int) -> Iterator[Article]:
        return (self.article(number) for number in range(count))


def customer_phrasing(rng: random.Random, product: Product) -> str:
    """How a customer says it: "my outlook keeps asking for my password again"."""
    opener = rng.choice(CUSTOMER_OPENERS)
    name = product.name if not opener else product.name.lower()
    return f"{opener}{name} {rng.choice(product.symptoms)}{rng.choice(CUSTOMER_TAILS)}"


class _ArticleWriter:
    """Writes one article with one rng; fills template slots from the Zipf samplers."""

    def __init__(self, generator: Generator, rng: random.Random, product: Product):
        self.g, self.rng, self.product = generator, rng, product
        self.codes = [self._draw_code() for _ in range(rng.choice((1, 1, 2, 2, 3)))]
        self.words = 0

    def write(self, number: int) -> Article:
        target = self.rng.randint(MIN_WORDS, MAX_WORDS)
        sections = [self._notices(), self._going_on(), self._confirm(), self._resolution(target), self._prevent()]
        title = self._title()
        slug = f"{_slugify(title)[:80].rstrip('-')}-{number}"
        body = "\n".join(sections)
        summary = self._summary()
        # Only the codes the text really cites: a drawn code no template slot picked is not in it.
        cited = [code for code in self.codes if code in body or code in title]
        return Article(slug, title, summary, self.product.name, self._tags(), body, cited)

    # --- slots -----------------------------------------------------------------------------------

    def fill(self, template: str) -> str:
        text = _SLOT.sub(lambda m: self._slot(m.group(1)), template)
        self.words += text.count(" ") + 1
        return text[0].upper() + text[1:]

    def _slot(self, name: str) -> str:
        rng = self.rng
        if name == "product":
            return self.product.name
        if name == "term":
            return rng.choice(self.product.terms) if rng.random() < 0.6 else self.g.nouns.draw(rng)
        if name == "code":
            return rng.choice(self.codes)
        if name == "cmd":
            return rng.choice(self.product.commands) if rng.random() < 0.6 else rng.choice(GENERAL_COMMANDS)
        sampler = {"noun": self.g.nouns, "verb": self.g.verbs, "Verb": self.g.verbs, "adj": self.g.adjectives}[name]
        word = sampler.draw(rng)
        return word.capitalize() if name == "Verb" else word

    def _draw_code(self) -> str:
        family = self.rng.choice(self.product.code_kinds)
        return self.g.codes[family].draw(self.rng)

    def _sentences(self, templates: Sequence[str], low: int, high: int) -> str:
        return " ".join(self.fill(self.rng.choice(templates)) for _ in range(self.rng.randint(low, high)))

    # --- parts -----------------------------------------------------------------------------------

    def _title(self) -> str:
        symptom = self.rng.choice(self.product.symptoms).replace(" my ", " the ").replace(" me ", " the user ")
        tail = self.rng.choice(TITLE_TAILS)
        return f"{self.product.name} {symptom}" + _SLOT.sub(lambda m: self._slot(m.group(1)), tail)

    def _summary(self) -> str:
        return self.fill(
            "{product} cannot {verb} the {term} because the {adj} {noun} is out of date; this explains why and how to fix it."
        )

    def _tags(self) -> list[str]:
        extra = [self.g.nouns.draw(self.rng) for _ in range(self.rng.randint(0, 3))]
        return list(dict.fromkeys([*self.product.tags, *(t for t in extra if re.fullmatch(r"[a-z][a-z-]*", t))]))

    def _notices(self) -> str:
        lines = []
        for _ in range(self.rng.randint(3, 6)):
            phrase = customer_phrasing(self.rng, self.product)
            if self.rng.random() < 0.2:
                phrase = f"It says {self.rng.choice(self.codes)} when I try to {self.g.verbs.draw(self.rng)} the {self.g.nouns.draw(self.rng)}"
            self.words += phrase.count(" ") + 1
            lines.append(f'- "{phrase[0].upper()}{phrase[1:]}"')
        return "## What the customer notices\n\n" + "\n".join(lines) + "\n"

    def _going_on(self) -> str:
        paragraphs = [self._sentences(EXPLAIN, 3, 6) for _ in range(self.rng.randint(1, 3))]
        return "## What is going on\n\n" + "\n\n".join(paragraphs) + "\n"

    def _confirm(self) -> str:
        bullets = [f"- {self.fill(self.rng.choice(CONFIRM))}" for _ in range(self.rng.randint(2, 4))]
        commands = self.rng.sample(self.product.commands + GENERAL_COMMANDS, 2)
        block = "```console\n" + "".join(f"C:\\> {c}\n" for c in commands) + "```\n"
        self.words += 6
        return "## How to confirm\n\n" + "\n".join(bullets) + "\n\n" + block

    def _resolution(self, target: int) -> str:
        parts = ["## Resolution\n"]
        while True:
            heading = self.fill(self.rng.choice(RESOLUTION_HEADINGS))
            steps = [f"{i}. {self.fill(self.rng.choice(STEPS))}" for i in range(1, self.rng.randint(3, 6))]
            parts.append(f"### {heading}\n\n" + "\n".join(steps) + "\n")
            if self.words >= target - 100:  # "Prevent it", headings and code blocks add about 100
                return "\n".join(parts)
            if self.rng.random() < 0.5:
                parts.append(self._sentences(EXPLAIN, 2, 4) + "\n")

    def _prevent(self) -> str:
        bullets = [f"- {self.fill(self.rng.choice(PREVENT))}" for _ in range(self.rng.randint(2, 4))]
        return "## Prevent it\n\n" + "\n".join(bullets) + "\n"


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# Whole words only: "aadsts" inside AADSTS50076 or "err" inside ERR_CERT_DATE_INVALID is no word.
_TOKEN = re.compile(r"(?<![\w'-])[a-z](?:[a-z'-]*[a-z])?(?![\w'-])")


def word_counts(articles: Sequence[Article]) -> Counter[str]:
    """Lowercased word frequencies over titles, summaries and bodies: what queries are built from."""
    counts: Counter[str] = Counter()
    for article in articles:
        counts.update(_TOKEN.findall(f"{article.title} {article.summary} {article.body}".lower()))
    return counts


def write_corpus(articles: Sequence[Article], folder: Path) -> None:
    """Write each article as `<slug>.md`, the layout `kb import` reads."""
    folder.mkdir(parents=True, exist_ok=True)
    for article in articles:
        (folder / f"{article.slug}.md").write_text(article.to_file(), encoding="utf-8", newline="\n")


if __name__ == "__main__":  # a quick look: print one article and the corpus statistics
    import sys

    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    corpus = list(Generator().articles(size))
    print(corpus[0].to_file())
    counts = word_counts(corpus)
    lengths = sorted(len(a.body.split()) for a in corpus)
    print(
        f"{size} articles, {len(counts)} distinct words, body words min/median/max "
        f"{lengths[0]}/{lengths[len(lengths) // 2]}/{lengths[-1]}",
        file=sys.stderr,
    )
    print("top words:", counts.most_common(30), file=sys.stderr)
