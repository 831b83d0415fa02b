#!/usr/bin/env bash
# The worked exchange of docs/partners.md: two eta instances on this machine (needs jq, curl,
# redis-server; uses port 6391 for Redis and 5301/5302 for the two web servers).
# Usage: docs/partners-exchange.sh [WORK_FOLDER]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ETA="$ROOT/.venv/bin/eta"
W="${1:-/tmp/eta-partners-exchange}"
rm -rf "$W"; mkdir -p "$W"/a "$W"/b "$W"/anchor
redis-server --port 6391 --save '' --appendonly no --daemonize yes --pidfile "$W/redis.pid" >/dev/null
sleep 0.5
env_for() {  # the ETA_* settings that make instance $1 itself
  echo "ETA_ENV=development ETA_SECRET_KEY=demo-$1 ETA_DATABASE_URL=sqlite:///$W/$1/eta.db \
ETA_REDIS_URL=redis://127.0.0.1:6391/$2 ETA_KEYS_DIR=$W/$1/keys ETA_TRUST_LIST=$W/$1/trust-list.jws \
ETA_ISSUER=https://eta-$1.example ETA_PUBLIC_URL=https://eta-$1.example ETA_PARTNER_ID=$1-border \
ETA_MAIL_URL=file://$W/$1/outbox"
}
A() { echo "a\$ eta $*" >&2; env $(env_for a 1) "$ETA" "$@"; }
B() { echo "b\$ eta $*" >&2; env $(env_for b 2) "$ETA" "$@"; }
ANCHOR() { echo "anchor\$ eta $*" >&2; env ETA_DATABASE_URL=sqlite:///$W/anchor/x.db ETA_REDIS_URL=redis://127.0.0.1:6391/3 "$ETA" "$@"; }
cleanup() { kill $(cat "$W"/a.pid "$W"/b.pid 2>/dev/null) 2>/dev/null || true; kill "$(cat "$W/redis.pid")" || true; }
trap cleanup EXIT
for i in a b; do
  env $(env_for $i 0) "$ETA" db upgrade >/dev/null 2>&1
done
"$ETA" --help >/dev/null
echo "## 1. Each instance prints its entry; the anchor signs the list; both import it" >&2
A trust entry --country NOR > "$W/a-entry.json"
B trust entry --country UTO > "$W/b-entry.json"
jq -c '{id, issuer, endpoints, keys: [.keys[] | {purpose, kid: .jwk.kid}]}' "$W/a-entry.json"
ANCHOR trust anchor-key "$W/anchor/anchor.pem" > "$W/anchor.jwks"
jq -s '{partners: .}' "$W/a-entry.json" "$W/b-entry.json" > "$W/partners.json"
ANCHOR trust sign "$W/partners.json" --anchor-key "$W/anchor/anchor.pem" --issuer https://anchor.example --sequence 1 > "$W/trust-list-1.jws"
A trust import "$W/trust-list-1.jws" --anchor "$W/anchor.jwks"
B trust import "$W/trust-list-1.jws" --anchor "$W/anchor.jwks"
echo "## 2. A makes an epoch key and hands it to B" >&2
A partner feed key rotate
A partner feed key export 1 --out "$W/a-epoch-1.key"
B partner feed key import a-border "$W/a-epoch-1.key"
echo "## 3. A reports passports stolen and exports its feed; B imports it (twice)" >&2
printf 'country,number,reported_on\nNOR,NB4711234,2026-11-30\nNOR,NC0000001,2026-11-02\n' > "$W/stolen.csv"
A lost-stolen import "$W/stolen.csv" --source NORDLAND
A partner feed export --out "$W/a-1.jws" 2>&1
echo "(what leaves A: $(cut -d. -f2 "$W/a-1.jws" | tr '_-' '/+' | base64 -d 2>/dev/null | jq -c '{iss, seq, kind, epoch, entries}'))"
B partner feed import "$W/a-1.jws" 2>&1
B partner feed import "$W/a-1.jws" 2>&1
echo "## 4. B's web server and worker; a traveller with the stolen passport applies at B" >&2
printf 'id,full_name,date_of_birth,nationality\nB-1,Quentin Zebulon Halvorsen,1931,ISL\n' > "$W/list.csv"
B watchlist import "$W/list.csv" --format csv --source NATIONAL 2>/dev/null
A watchlist import "$W/list.csv" --format csv --source NATIONAL 2>/dev/null
env $(env_for a 1) "$ROOT/.venv/bin/gunicorn" -b 127.0.0.1:5301 -w 1 wsgi:app --chdir "$ROOT" --pid "$W/a.pid" --daemon
env $(env_for b 2) "$ROOT/.venv/bin/gunicorn" -b 127.0.0.1:5302 -w 1 wsgi:app --chdir "$ROOT" --pid "$W/b.pid" --daemon
sleep 3
apply() {  # $1 port, $2 passport number
  curl -s -X POST "http://127.0.0.1:$1/api/v1/applications" -H 'Content-Type: application/json' -H "Host: eta-x.example" -d "{
  \"given_names\": \"Kari\", \"surname\": \"Nordmann\", \"sex\": \"F\", \"date_of_birth\": \"1990-03-04\",
  \"place_of_birth\": \"Bergen\", \"nationality\": \"NOR\",
  \"passport\": {\"number\": \"$2\", \"issuing_country\": \"NOR\", \"issue_date\": \"2022-04-16\", \"expiry_date\": \"2032-04-15\"},
  \"email\": \"kari@example.org\", \"home_address\": {\"line1\": \"Bryggen 1\", \"city\": \"Bergen\", \"country\": \"NOR\"},
  \"occupation\": \"Engineer\", \"travel\": {\"purpose\": \"tourism\", \"intended_arrival\": \"$(date -d '+30 days' +%F)\"},
  \"answers\": {\"criminal_conviction\": false, \"previous_refusal\": false, \"removed_or_deported\": false, \"conflict_zone_travel\": false},
  \"language\": \"en\", \"declaration\": true}" | jq -r .reference
}
REF_B=$(apply 5302 NB4711234)
echo "b: applied as $REF_B"
B worker --burst >/dev/null 2>&1
env $(env_for b 2) "$ROOT/.venv/bin/python" - "$REF_B" <<'PY'
import sys
from sqlalchemy import select
from eta import create_app
from eta.extensions import db
from eta.models import Application, ScreeningHit, ScreeningRun
app = create_app()
with app.app_context():
    application = db.session.scalar(select(Application).where(Application.reference == sys.argv[1]))
    print(f"b: {application.reference} is {application.status}")
    for hit in db.session.scalars(select(ScreeningHit).join(ScreeningRun).where(ScreeningRun.application_id == application.id)):
        print(f"b:   {hit.check_name} {hit.code}: {hit.explanation}")
PY
echo "## 5. A's authorisation verifies at B's carrier API" >&2
REF_A=$(apply 5301 NA1000001)
A worker --burst >/dev/null 2>&1
TOKEN=$(curl -s -X POST http://127.0.0.1:5301/api/v1/applications/status -H 'Content-Type: application/json' -H "Host: eta-a.example" \
  -d "{\"reference\": \"$REF_A\", \"passport_number\": \"NA1000001\", \"date_of_birth\": \"1990-03-04\"}" | jq -r .authorisation.token)
echo "a: $REF_A approved; its token's header: $(echo "$TOKEN" | cut -d. -f1 | base64 -d 2>/dev/null)"
KEY=$(B carrier create "Utopia Air" | tail -1)
echo "b\$ curl -X POST /api/v1/carrier/verify -d '{\"token\": \"<A's token>\"}'" >&2
curl -s -X POST http://127.0.0.1:5302/api/v1/carrier/verify -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -H "Host: eta-b.example" -d "{\"token\": \"$TOKEN\"}"; echo
echo "## 6. A delta; then a replayed and a tampered batch, and a replayed list" >&2
printf 'country,number\nNOR,NC0000002\n' > "$W/stolen-2.csv"
A lost-stolen import "$W/stolen-2.csv" --source NORDLAND
A partner feed export --out "$W/a-2.jws" 2>&1
B partner feed import "$W/a-2.jws" 2>&1
B partner feed import "$W/a-1.jws" 2>&1 || true
python3 - "$W/a-2.jws" "$W/a-2-tampered.jws" <<'PY'
import base64, json, sys
h, p, s = open(sys.argv[1]).read().strip().split(".")
claims = json.loads(base64.urlsafe_b64decode(p + "=="))
claims["entries"] = []
p = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
open(sys.argv[2], "w").write(".".join([h, p, s]))
PY
B partner feed import "$W/a-2-tampered.jws" 2>&1 || true
B trust import "$W/trust-list-1.jws" 2>&1 || true
