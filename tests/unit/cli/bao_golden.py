# ruff: noqa: E501
"""Literal outputs of the real `bao` CLI (OpenBao 2.7.2) for fixed server responses.

Captured by serving each body below from a local HTTP server and running
`bao <command> x/<name>` against it (BAO_ADDR pointing there). Do not edit by hand.
"""

from __future__ import annotations

# name -> response body served for GET /v1/x/<name>
BODIES: dict[str, str] = {
    "mix": '{"request_id":"5ec54719-320b-78b2-9d8d-3ae2c0c0fb25","lease_id":"","renewable":false,"lease_duration":3600,"data":{"a":"1","b":"true","c":3.5,"f":"1.50","num":1.50,"e":1e21,"big":12345678901234567890,"neg":-0,"n":null,"empty":"","l":[1,"a",true,null,{"k":"v"}],"m":{"z":1,"a":{"b":[]},"e":{}},"emptyl":[],"ttl":3600,"my_ttl":90061,"period":"30m","x_duration":1.5,"lease_max":60,"ttl_max":61,"duration":0,"token_period":3599,"cli10":"x","cli2":"y","Zk":"z","_k":"u","multi":"line1\\nline2\\n","sp":"  pad  ","html":"<a&b>","u":"hé\u2028"},"wrap_info":null,"warnings":["Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the OpenBao CLI, use \'bao kv list\' for this operation.","short warning"],"auth":null}',
    "lease": '{"request_id":"r1","lease_id":"database/creds/ro/abc","renewable":true,"lease_duration":2764800,"data":{"password":"p","username":"u"},"wrap_info":null,"warnings":null,"auth":null}',
    "auth": '{"request_id":"r2","lease_id":"","renewable":false,"lease_duration":0,"data":null,"wrap_info":null,"warnings":null,"auth":{"client_token":"s.FqUVISPTYybEQAJGm5PFpKsy","accessor":"aCVNb6PDLKnKMsEWkz1MennY","policies":["default","dev"],"token_policies":["default","dev"],"metadata":{"k":"v"},"lease_duration":3600,"renewable":true,"entity_id":"","token_type":"service","orphan":false,"mfa_requirement":null,"num_uses":0}}',
    "root": '{"request_id":"r3","lease_id":"","renewable":false,"lease_duration":0,"data":null,"wrap_info":null,"warnings":null,"auth":{"client_token":"root","accessor":"acc","policies":["root"],"token_policies":["root"],"identity_policies":["x \\"q\\""],"metadata":null,"lease_duration":0,"renewable":false,"entity_id":"e1","orphan":true}}',
    "wrap": '{"request_id":"","lease_id":"","renewable":false,"lease_duration":0,"data":null,"warnings":null,"auth":null,"wrap_info":{"token":"s.pMJ2xfjL8ktXBtpMAGtlZGG0","accessor":"ReAqhoK9mlaCQIlA2tRGr5Eh","ttl":300,"creation_time":"2026-11-25T09:44:01.655389510Z","creation_path":"kv/t","wrapped_accessor":"wacc"}}',
    "list": '{"request_id":"r4","lease_id":"","renewable":false,"lease_duration":0,"data":{"keys":["cli2","cli10","a/"],"key_info":{"cli2":{"ttl":60,"name":"two"},"cli10":{"name":"ten","extra":[1]},"zzz":{"hidden":1}}},"wrap_info":null,"warnings":null,"auth":null}',
    "raw": '{"type":"shamir","initialized":true,"t":1,"n":1,"nonce":""}',
    "yaml": '{"request_id":"r6","lease_id":"","renewable":false,"lease_duration":0,"data":{"astral":"😀x","at":"@x","b60":"1:20","b60b":"190:20:30.15","bad8":"08","bom":"\ufeffx","br":"a[b","bt":"`x","cjk":"中文","colon_end":"a:","colon_mid":"a:b","comma":"a,b","cr":"a\\rb","dashes":"---x","dot":".","dots":"...x","dotu":".5_5","e":"éè ok","e400":"1e400","emptystr_key":{"":1},"ex":"!x","f1":1000000.0,"f2":123456.0,"f3":0.0001,"f4":1e-05,"f5":1.5e+300,"f6":100000000,"gt":">x","hash_mid":"a#b","hex":"0xZZ","kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk":"longkey","list_of_maps":[{"a":{"b":{}},"z":1},[[]],[{"k":[1,[2,3]]}]],"literal_lead":"\\n\\nx\\n","long_dq":"tab\\t word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word end","long_dq2":"x\\tab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ","long_sq":"- abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc ","lsonly":"a\u2028b","multi\\nkey":"v","nested":{"0":5,"00":6,"01":7,"X":3,"_":4,"a001":3,"a01":1,"a1":2,"x10":1,"x9":2},"oct":"0777","pct":"%x","pipe":"|x","q1":" it\'s","q2":"\'start","q_end":"a?","sp_in_dq":"a\\u0001   b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b ","ts1":"2026-02-30","ts2":"2024-02-29","ts3":"2023-02-29","ts4":"2026-01-01T10:00:00+01:00","ts5":"2026-1-1t1:2:3.5Z","ts6":"2026-01-01 25:00:00","ts7":"2026-13-01","under":"1_0"},"wrap_info":null,"warnings":null,"auth":null}',
    "nodata": '{"request_id":"r5","lease_id":"","renewable":false,"lease_duration":0,"data":null,"wrap_info":null,"warnings":["only a warning"],"auth":null}',
}

# "name|command args" -> (stdout, stderr, exit code)
OUTPUTS: dict[str, tuple[str, str, int]] = {
    "mix|read": (
        "Key                 Value\n---                 -----\nrefresh_interval    1h\nZk                  z\n_k                  u\na                   1\nb                   true\nbig                 12345678901234567890\nc                   3.5\ncli10               x\ncli2                y\nduration            0s\ne                   1e21\nempty               n/a\nemptyl              []\nf                   1.50\nhtml                <a&b>\nl                   [1 a true <nil> map[k:v]]\nlease_max           1m\nm                   map[a:map[b:[]] e:map[] z:1]\nmulti               line1\nline2\nmy_ttl              25h1m1s\nn                   <nil>\nneg                 -0\nnum                 1.50\nperiod              30m\nsp                  pad\ntoken_period        59m59s\nttl                 1h\nttl_max             1m1s\nu                   hé\nx_duration          1.5\n",
        "WARNING! The following warnings were returned from OpenBao:\n\n  * Invalid path for a versioned K/V secrets engine. See the API docs for\n  the appropriate API endpoints to use. If using the OpenBao CLI, use 'bao kv\n  list' for this operation.\n\n  * short warning\n\n",
        0,
    ),
    "mix|read -format=json": (
        '{\n  "request_id": "5ec54719-320b-78b2-9d8d-3ae2c0c0fb25",\n  "lease_id": "",\n  "lease_duration": 3600,\n  "renewable": false,\n  "data": {\n    "Zk": "z",\n    "_k": "u",\n    "a": "1",\n    "b": "true",\n    "big": 12345678901234567890,\n    "c": 3.5,\n    "cli10": "x",\n    "cli2": "y",\n    "duration": 0,\n    "e": 1e21,\n    "empty": "",\n    "emptyl": [],\n    "f": "1.50",\n    "html": "\\u003ca\\u0026b\\u003e",\n    "l": [\n      1,\n      "a",\n      true,\n      null,\n      {\n        "k": "v"\n      }\n    ],\n    "lease_max": 60,\n    "m": {\n      "a": {\n        "b": []\n      },\n      "e": {},\n      "z": 1\n    },\n    "multi": "line1\\nline2\\n",\n    "my_ttl": 90061,\n    "n": null,\n    "neg": -0,\n    "num": 1.50,\n    "period": "30m",\n    "sp": "  pad  ",\n    "token_period": 3599,\n    "ttl": 3600,\n    "ttl_max": 61,\n    "u": "hé\\u2028",\n    "x_duration": 1.5\n  },\n  "warnings": [\n    "Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the OpenBao CLI, use \'bao kv list\' for this operation.",\n    "short warning"\n  ]\n}\n',
        "",
        0,
    ),
    "mix|read -format=yaml": (
        'data:\n  _k: u\n  Zk: z\n  a: "1"\n  b: "true"\n  big: 12345678901234567890\n  c: 3.5\n  cli2: "y"\n  cli10: x\n  duration: 0\n  e: 1e+21\n  empty: ""\n  emptyl: []\n  f: "1.50"\n  html: <a&b>\n  l:\n  - 1\n  - a\n  - true\n  - null\n  - k: v\n  lease_max: 60\n  m:\n    a:\n      b: []\n    e: {}\n    z: 1\n  multi: |\n    line1\n    line2\n  my_ttl: 90061\n  "n": null\n  neg: 0\n  num: 1.5\n  period: 30m\n  sp: \'  pad  \'\n  token_period: 3599\n  ttl: 3600\n  ttl_max: 61\n  u: \'hé\u2028\'\n  x_duration: 1.5\nlease_duration: 3600\nlease_id: ""\nrenewable: false\nrequest_id: 5ec54719-320b-78b2-9d8d-3ae2c0c0fb25\nwarnings:\n- Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate\n  API endpoints to use. If using the OpenBao CLI, use \'bao kv list\' for this operation.\n- short warning\n',
        "",
        0,
    ),
    "mix|read -field=m": (
        "map[a:map[b:[]] e:map[] z:1]",
        "WARNING! The following warnings were returned from OpenBao:\n\n  * Invalid path for a versioned K/V secrets engine. See the API docs for\n  the appropriate API endpoints to use. If using the OpenBao CLI, use 'bao kv\n  list' for this operation.\n\n  * short warning\n\n",
        0,
    ),
    "mix|read -field=l": (
        "[1 a true <nil> map[k:v]]",
        "WARNING! The following warnings were returned from OpenBao:\n\n  * Invalid path for a versioned K/V secrets engine. See the API docs for\n  the appropriate API endpoints to use. If using the OpenBao CLI, use 'bao kv\n  list' for this operation.\n\n  * short warning\n\n",
        0,
    ),
    "mix|read -field=n": ("", 'Field "n" not present in secret\n', 1),
    "mix|read -field=data": (
        "map[Zk:z _k:u a:1 b:true big:12345678901234567890 c:3.5 cli10:x cli2:y duration:0 e:1e21 empty: emptyl:[] f:1.50 html:<a&b> l:[1 a true <nil> map[k:v]] lease_max:60 m:map[a:map[b:[]] e:map[] z:1] multi:line1\nline2\n my_ttl:90061 n:<nil> neg:-0 num:1.50 period:30m sp:  pad   token_period:3599 ttl:3600 ttl_max:61 u:hé\u2028 x_duration:1.5]",
        "WARNING! The following warnings were returned from OpenBao:\n\n  * Invalid path for a versioned K/V secrets engine. See the API docs for\n  the appropriate API endpoints to use. If using the OpenBao CLI, use 'bao kv\n  list' for this operation.\n\n  * short warning\n\n",
        0,
    ),
    "mix|read -field=refresh_interval": (
        "3600",
        "WARNING! The following warnings were returned from OpenBao:\n\n  * Invalid path for a versioned K/V secrets engine. See the API docs for\n  the appropriate API endpoints to use. If using the OpenBao CLI, use 'bao kv\n  list' for this operation.\n\n  * short warning\n\n",
        0,
    ),
    "mix|read -format=json -field=m": (
        '{\n  "a": {\n    "b": []\n  },\n  "e": {},\n  "z": 1\n}',
        "",
        0,
    ),
    "mix|read -format=yaml -field=multi": ("|\n  line1\n  line2\n", "", 0),
    "lease|read": (
        "Key                Value\n---                -----\nlease_id           database/creds/ro/abc\nlease_duration     768h\nlease_renewable    true\npassword           p\nusername           u\n",
        "",
        0,
    ),
    "lease|read -format=json": (
        '{\n  "request_id": "r1",\n  "lease_id": "database/creds/ro/abc",\n  "lease_duration": 2764800,\n  "renewable": true,\n  "data": {\n    "password": "p",\n    "username": "u"\n  },\n  "warnings": null\n}\n',
        "",
        0,
    ),
    "lease|read -field=lease_id": ("database/creds/ro/abc", "", 0),
    "auth|read": (
        'Key                  Value\n---                  -----\ntoken                s.FqUVISPTYybEQAJGm5PFpKsy\ntoken_accessor       aCVNb6PDLKnKMsEWkz1MennY\ntoken_duration       1h\ntoken_renewable      true\ntoken_policies       ["default" "dev"]\nidentity_policies    []\npolicies             ["default" "dev"]\ntoken_meta_k         v\n',
        "",
        0,
    ),
    "auth|read -format=json": (
        '{\n  "request_id": "r2",\n  "lease_id": "",\n  "lease_duration": 0,\n  "renewable": false,\n  "data": null,\n  "warnings": null,\n  "auth": {\n    "client_token": "s.FqUVISPTYybEQAJGm5PFpKsy",\n    "accessor": "aCVNb6PDLKnKMsEWkz1MennY",\n    "policies": [\n      "default",\n      "dev"\n    ],\n    "token_policies": [\n      "default",\n      "dev"\n    ],\n    "identity_policies": null,\n    "metadata": {\n      "k": "v"\n    },\n    "orphan": false,\n    "entity_id": "",\n    "lease_duration": 3600,\n    "renewable": true,\n    "mfa_requirement": null\n  }\n}\n',
        "",
        0,
    ),
    "auth|read -format=yaml": (
        'auth:\n  accessor: aCVNb6PDLKnKMsEWkz1MennY\n  client_token: s.FqUVISPTYybEQAJGm5PFpKsy\n  entity_id: ""\n  identity_policies: null\n  lease_duration: 3600\n  metadata:\n    k: v\n  mfa_requirement: null\n  orphan: false\n  policies:\n  - default\n  - dev\n  renewable: true\n  token_policies:\n  - default\n  - dev\ndata: null\nlease_duration: 0\nlease_id: ""\nrenewable: false\nrequest_id: r2\nwarnings: null\n',
        "",
        0,
    ),
    "auth|read -field=token_policies": ("[default dev]", "", 0),
    "auth|read -field=identity_policies": ("[]", "", 0),
    "auth|read -format=json -field=identity_policies": ("null", "", 0),
    "auth|read -field=token_duration": ("3600", "", 0),
    "root|read": (
        'Key                  Value\n---                  -----\ntoken                root\ntoken_accessor       acc\ntoken_duration       ∞\ntoken_renewable      false\ntoken_policies       ["root"]\nidentity_policies    ["x \\"q\\""]\npolicies             ["root"]\n',
        "",
        0,
    ),
    "root|read -format=json": (
        '{\n  "request_id": "r3",\n  "lease_id": "",\n  "lease_duration": 0,\n  "renewable": false,\n  "data": null,\n  "warnings": null,\n  "auth": {\n    "client_token": "root",\n    "accessor": "acc",\n    "policies": [\n      "root"\n    ],\n    "token_policies": [\n      "root"\n    ],\n    "identity_policies": [\n      "x \\"q\\""\n    ],\n    "metadata": null,\n    "orphan": true,\n    "entity_id": "e1",\n    "lease_duration": 0,\n    "renewable": false,\n    "mfa_requirement": null\n  }\n}\n',
        "",
        0,
    ),
    "wrap|read": (
        "Key                              Value\n---                              -----\nwrapping_token:                  s.pMJ2xfjL8ktXBtpMAGtlZGG0\nwrapping_accessor:               ReAqhoK9mlaCQIlA2tRGr5Eh\nwrapping_token_ttl:              5m\nwrapping_token_creation_time:    2026-11-25 09:44:01.65538951 +0000 UTC\nwrapping_token_creation_path:    kv/t\nwrapped_accessor:                wacc\n",
        "",
        0,
    ),
    "wrap|read -format=json": (
        '{\n  "request_id": "",\n  "lease_id": "",\n  "lease_duration": 0,\n  "renewable": false,\n  "data": null,\n  "warnings": null,\n  "wrap_info": {\n    "token": "s.pMJ2xfjL8ktXBtpMAGtlZGG0",\n    "accessor": "ReAqhoK9mlaCQIlA2tRGr5Eh",\n    "ttl": 300,\n    "creation_time": "2026-11-25T09:44:01.65538951Z",\n    "creation_path": "kv/t",\n    "wrapped_accessor": "wacc"\n  }\n}\n',
        "",
        0,
    ),
    "wrap|read -format=yaml": (
        'data: null\nlease_duration: 0\nlease_id: ""\nrenewable: false\nrequest_id: ""\nwarnings: null\nwrap_info:\n  accessor: ReAqhoK9mlaCQIlA2tRGr5Eh\n  creation_path: kv/t\n  creation_time: "2026-11-25T09:44:01.65538951Z"\n  token: s.pMJ2xfjL8ktXBtpMAGtlZGG0\n  ttl: 300\n  wrapped_accessor: wacc\n',
        "",
        0,
    ),
    "wrap|read -field=wrapping_token_creation_time": ("2026-11-25T09:44:01.65538951Z", "", 0),
    "list|list": ("Keys\n----\na/\ncli10\ncli2\n", "", 0),
    "list|list -detailed": (
        "Keys     extra    hidden    name    ttl\n----     -----    ------    ----    ---\na/\ncli10    [1]      n/a       ten     n/a\ncli2     n/a      n/a       two     1m\n",
        "",
        0,
    ),
    "list|list -format=json": ('[\n  "cli2",\n  "cli10",\n  "a/"\n]\n', "", 0),
    "list|list -detailed -format=json": (
        '{\n  "request_id": "r4",\n  "lease_id": "",\n  "lease_duration": 0,\n  "renewable": false,\n  "data": {\n    "key_info": {\n      "cli10": {\n        "extra": [\n          1\n        ],\n        "name": "ten"\n      },\n      "cli2": {\n        "name": "two",\n        "ttl": 60\n      },\n      "zzz": {\n        "hidden": 1\n      }\n    },\n    "keys": [\n      "cli2",\n      "cli10",\n      "a/"\n    ]\n  },\n  "warnings": null\n}\n',
        "",
        0,
    ),
    "list|list -format=yaml": ("- cli2\n- cli10\n- a/\n", "", 0),
    "raw|read": (
        "Key            Value\n---            -----\ninitialized    true\nn              1\nnonce          n/a\nt              1\ntype           shamir\n",
        "",
        0,
    ),
    "raw|read -format=json": (
        '{\n  "request_id": "",\n  "lease_id": "",\n  "lease_duration": 0,\n  "renewable": false,\n  "data": {\n    "initialized": true,\n    "n": 1,\n    "nonce": "",\n    "t": 1,\n    "type": "shamir"\n  },\n  "warnings": null\n}\n',
        "",
        0,
    ),
    "yaml|read -format=yaml": (
        'data:\n  astral: "\\U0001F600x"\n  at: \'@x\'\n  b60: "1:20"\n  b60b: "190:20:30.15"\n  bad8: "08"\n  bom: "\\uFEFF\\x78"\n  br: a[b\n  bt: \'`x\'\n  cjk: 中文\n  colon_end: \'a:\'\n  colon_mid: a:b\n  comma: a,b\n  cr: "a\\rb"\n  dashes: \'---x\'\n  dot: .\n  dots: \'...x\'\n  dotu: ".5_5"\n  e: éè ok\n  e400: 1e400\n  emptystr_key:\n    "": 1\n  ex: \'!x\'\n  f1: 1e+06\n  f2: 123456\n  f3: 0.0001\n  f4: 1e-05\n  f5: 1.5e+300\n  f6: 100000000\n  gt: \'>x\'\n  hash_mid: a#b\n  hex: 0xZZ\n  ? kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\n  : longkey\n  list_of_maps:\n  - a:\n      b: {}\n    z: 1\n  - - []\n  - - k:\n      - 1\n      - - 2\n        - 3\n  literal_lead: |2\n\n\n    x\n  long_dq: "tab\\t word word word word word word word word word word word word word\n    word word word word word word word word word word word word word word word word\n    word end"\n  long_dq2: "x\\tab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab\n    \\ ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  "\n  long_sq: \'- abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc\n    abc abc abc abc abc abc abc abc abc abc abc abc abc \'\n  lsonly: \'a\u2028    b\'\n  ? |-\n    multi\n    key\n  : v\n  nested:\n    _: 4\n    "0": 5\n    "00": 6\n    "01": 7\n    X: 3\n    a1: 2\n    a01: 1\n    a001: 3\n    x9: 2\n    x10: 1\n  oct: "0777"\n  pct: \'%x\'\n  pipe: \'|x\'\n  q_end: a?\n  q1: \' it\'\'s\'\n  q2: \'\'\'start\'\n  sp_in_dq: "a\\x01   b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b\n    b b b b b b b b b "\n  ts1: 2026-02-30\n  ts2: "2024-02-29"\n  ts3: 2023-02-29\n  ts4: "2026-01-01T10:00:00+01:00"\n  ts5: "2026-1-1t1:2:3.5Z"\n  ts6: 2026-01-01 25:00:00\n  ts7: 2026-13-01\n  under: "1_0"\nlease_duration: 0\nlease_id: ""\nrenewable: false\nrequest_id: r6\nwarnings: null\n',
        "",
        0,
    ),
    "yaml|read -format=json": (
        '{\n  "request_id": "r6",\n  "lease_id": "",\n  "lease_duration": 0,\n  "renewable": false,\n  "data": {\n    "astral": "😀x",\n    "at": "@x",\n    "b60": "1:20",\n    "b60b": "190:20:30.15",\n    "bad8": "08",\n    "bom": "\ufeffx",\n    "br": "a[b",\n    "bt": "`x",\n    "cjk": "中文",\n    "colon_end": "a:",\n    "colon_mid": "a:b",\n    "comma": "a,b",\n    "cr": "a\\rb",\n    "dashes": "---x",\n    "dot": ".",\n    "dots": "...x",\n    "dotu": ".5_5",\n    "e": "éè ok",\n    "e400": "1e400",\n    "emptystr_key": {\n      "": 1\n    },\n    "ex": "!x",\n    "f1": 1000000.0,\n    "f2": 123456.0,\n    "f3": 0.0001,\n    "f4": 1e-05,\n    "f5": 1.5e+300,\n    "f6": 100000000,\n    "gt": "\\u003ex",\n    "hash_mid": "a#b",\n    "hex": "0xZZ",\n    "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk": "longkey",\n    "list_of_maps": [\n      {\n        "a": {\n          "b": {}\n        },\n        "z": 1\n      },\n      [\n        []\n      ],\n      [\n        {\n          "k": [\n            1,\n            [\n              2,\n              3\n            ]\n          ]\n        }\n      ]\n    ],\n    "literal_lead": "\\n\\nx\\n",\n    "long_dq": "tab\\t word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word end",\n    "long_dq2": "x\\tab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ",\n    "long_sq": "- abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc ",\n    "lsonly": "a\\u2028b",\n    "multi\\nkey": "v",\n    "nested": {\n      "0": 5,\n      "00": 6,\n      "01": 7,\n      "X": 3,\n      "_": 4,\n      "a001": 3,\n      "a01": 1,\n      "a1": 2,\n      "x10": 1,\n      "x9": 2\n    },\n    "oct": "0777",\n    "pct": "%x",\n    "pipe": "|x",\n    "q1": " it\'s",\n    "q2": "\'start",\n    "q_end": "a?",\n    "sp_in_dq": "a\\u0001   b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b ",\n    "ts1": "2026-02-30",\n    "ts2": "2024-02-29",\n    "ts3": "2023-02-29",\n    "ts4": "2026-01-01T10:00:00+01:00",\n    "ts5": "2026-1-1t1:2:3.5Z",\n    "ts6": "2026-01-01 25:00:00",\n    "ts7": "2026-13-01",\n    "under": "1_0"\n  },\n  "warnings": null\n}\n',
        "",
        0,
    ),
    "yaml|read": (
        "Key                                                                                                                                   Value\n---                                                                                                                                   -----\nastral                                                                                                                                😀x\nat                                                                                                                                    @x\nb60                                                                                                                                   1:20\nb60b                                                                                                                                  190:20:30.15\nbad8                                                                                                                                  08\nbom                                                                                                                                   \ufeffx\nbr                                                                                                                                    a[b\nbt                                                                                                                                    `x\ncjk                                                                                                                                   中文\ncolon_end                                                                                                                             a:\ncolon_mid                                                                                                                             a:b\ncomma                                                                                                                                 a,b\ncr                                                                                                                                    a\rb\ndashes                                                                                                                                ---x\ndot                                                                                                                                   .\ndots                                                                                                                                  ...x\ndotu                                                                                                                                  .5_5\ne                                                                                                                                     éè ok\ne400                                                                                                                                  1e400\nemptystr_key                                                                                                                          map[:1]\nex                                                                                                                                    !x\nf1                                                                                                                                    1000000.0\nf2                                                                                                                                    123456.0\nf3                                                                                                                                    0.0001\nf4                                                                                                                                    1e-05\nf5                                                                                                                                    1.5e+300\nf6                                                                                                                                    100000000\ngt                                                                                                                                    >x\nhash_mid                                                                                                                              a#b\nhex                                                                                                                                   0xZZ\nkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk    longkey\nlist_of_maps                                                                                                                          [map[a:map[b:map[]] z:1] [[]] [map[k:[1 [2 3]]]]]\nliteral_lead                                                                                                                          x\nlong_dq                                                                                                                               tab\t word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word end\nlong_dq2                                                                                                                              x\tab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab  ab\nlong_sq                                                                                                                               - abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc abc\nlsonly                                                                                                                                a\u2028b\nmulti\nkey                                                                                                                             v\nnested                                                                                                                                map[0:5 00:6 01:7 X:3 _:4 a001:3 a01:1 a1:2 x10:1 x9:2]\noct                                                                                                                                   0777\npct                                                                                                                                   %x\npipe                                                                                                                                  |x\nq1                                                                                                                                    it's\nq2                                                                                                                                    'start\nq_end                                                                                                                                 a?\nsp_in_dq                                                                                                                              a\x01   b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b b\nts1                                                                                                                                   2026-02-30\nts2                                                                                                                                   2024-02-29\nts3                                                                                                                                   2023-02-29\nts4                                                                                                                                   2026-01-01T10:00:00+01:00\nts5                                                                                                                                   2026-1-1t1:2:3.5Z\nts6                                                                                                                                   2026-01-01 25:00:00\nts7                                                                                                                                   2026-13-01\nunder                                                                                                                                 1_0\n",
        "",
        0,
    ),
    "nodata|read": (
        "",
        "WARNING! The following warnings were returned from OpenBao:\n\n  * only a warning\n\n",
        0,
    ),
    "nodata|list": (
        "",
        "WARNING! The following warnings were returned from OpenBao:\n\n  * only a warning\n\n",
        0,
    ),
    "nodata|list -format=json": ("{}\n", "", 2),
}
