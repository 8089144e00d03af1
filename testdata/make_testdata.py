#!/usr/bin/env python3
"""(Re)create the example environments under testdata/: sandbox/, production/ and broken/.

Deterministic: the committed trees are exactly this script's output.  Run it from anywhere:

    python3 testdata/make_testdata.py            # regenerate, verify, print reference counts
    python3 testdata/make_testdata.py --check    # only verify the trees on disk (no writes)

Layout and JSON style follow SPEC.md section 2 (Workato's package layout): `<slug>.<type>.json`
assets, 2-space indent, `{\\n<indent>}` / `[\\n\\n<indent>]` for empty containers, non-ASCII raw,
no trailing newline.  The scenario is described in testdata/README.md.

Only the Python standard library is used.
"""
import base64
import hashlib
import json
import os
import re
import shutil
import sys
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
TREES = ("sandbox", "production", "broken")

SANDBOX_PROVIDER = "acme_crm_connector_1100000001_1700000000"
PRODUCTION_PROVIDER = "acme_crm_connector_2200000002_1710000000"

NON_WORD = re.compile(r"[^\w]+", re.UNICODE)


def slug(name):
    return NON_WORD.sub("_", name.lower()).strip("_")


def dump(value, indent=0):
    """Ruby JSON.pretty_generate (legacy) style: 2 spaces, `{\\n}` and `[\\n\\n]` when empty."""
    pad = "  " * indent
    inner = "  " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{\n" + pad + "}"
        items = [inner + json.dumps(k, ensure_ascii=False) + ": " + dump(v, indent + 1)
                 for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list):
        if not value:
            return "[\n\n" + pad + "]"
        return "[\n" + ",\n".join(inner + dump(v, indent + 1) for v in value) + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# small helpers


def ref(rel, name, **extra):
    """A `{zip_name, name, folder}` reference; `rel` is relative to the environment root."""
    out = {"zip_name": rel, "name": name, "folder": os.path.dirname(rel)}
    out.update(extra)
    return out


def asset_path(folder, name, kind):
    base = f"{slug(name)}.{kind}.json"
    return f"{folder}/{base}" if folder else base


def step_as(recipe_rel, label):
    return hashlib.sha1(f"{recipe_rel}#{label}#as".encode()).hexdigest()[:8]


def step_uuid(recipe_rel, label):
    digest = hashlib.sha1(f"{recipe_rel}#{label}#uuid".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def pill(provider, line, *path):
    body = json.dumps({"pill_type": "output", "provider": provider, "line": line, "path": list(path)},
                      separators=(",", ":"), ensure_ascii=False)
    return "#{_dp('" + body + "')}"


def prop_pill(name):
    return "#{_dp('{\"pill_type\":\"account_property\",\"property_name\":\"" + name + "\"}')}"


REGION_CODE_FORMULA = ("#{_('data.workato.job_context.account_properties.Region_code', "
                       "'account_property', 'Region code')}")


def fields(*specs):
    out = []
    for spec in specs:
        name, typ = (spec.split(":") + ["string"])[:2]
        control = {"string": "text", "integer": "integer", "number": "number",
                   "boolean": "checkbox", "date_time": "date_time"}[typ]
        out.append({"control_type": control, "label": name.replace("_", " ").capitalize(),
                    "name": name, "type": typ, "optional": True})
    return out


class Recipe:
    """Builds a recipe in Workato's shape.  Step `as`/`uuid` values are derived from the recipe
    path and a step label, so they are stable across runs and across environments."""

    def __init__(self, rel, name, description, version, connections):
        self.rel = rel
        self.name = name
        self.description = description
        self.version = version
        self.connections = connections   # provider -> account_id reference (or absent: null)

    def a(self, label):
        return step_as(self.rel, label)

    def step(self, label, provider, name, input_, keyword="action", block=None, picklist=None,
             output_schema=None):
        s = {"provider": provider, "name": name, "as": self.a(label), "keyword": keyword}
        if picklist:
            s["dynamicPickListSelection"] = picklist
        s["input"] = input_
        if output_schema:
            s["extended_output_schema"] = output_schema
        if block is not None:
            s["block"] = block
        s["uuid"] = step_uuid(self.rel, label)
        return s

    def control(self, label, keyword, input_, block):
        return {"as": self.a(label), "keyword": keyword, "input": input_, "block": block,
                "uuid": step_uuid(self.rel, label)}

    def build(self, trigger, steps):
        trigger = dict(trigger)
        uuid_ = trigger.pop("uuid")
        trigger["block"] = steps
        trigger["uuid"] = uuid_
        counter = [0]

        def number(s):
            out = {"number": counter[0]}
            counter[0] += 1
            out.update(s)
            if "block" in out:
                out["block"] = [number(c) for c in out["block"]]
            return out

        code = number(trigger)
        providers = []

        def collect(s):
            p = s.get("provider")
            if p and p not in providers:
                providers.append(p)
            for c in s.get("block", []):
                collect(c)

        collect(code)
        config = []
        for p in providers:
            acct = self.connections.get(p)
            config.append({"keyword": "application", "provider": p, "skip_validation": False,
                           "account_id": acct})
        return {"name": self.name, "description": self.description, "version": self.version,
                "private": True, "concurrency": 1, "code": code, "config": config}


# --------------------------------------------------------------------------------------------
# the custom connector "Acme CRM"

LOGO_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAOklEQVR42mP4TyJgQOPL519DQ/g0YKrG1MNAUDWaHgZi"
    "VCPrYSBSNVzPiNVAcrCSE3HkJA1yEh8xAACF5wPjgaDCRQAAAABJRU5ErkJggg==")

CONNECTOR_TITLE = "Acme CRM"
CONNECTOR_REL = "acme_crm.custom_adapter.json"

# Production: version 3.  Plain symbol keys only.
ACME_RB_V3 = r"""{
  title: 'Acme CRM',

  connection: {
    fields: [
      {
        name: 'subdomain',
        label: 'Subdomain',
        hint: 'Your Acme CRM subdomain, e.g. <b>mycompany</b>',
        optional: false
      },
      {
        name: 'api_token',
        label: 'API token',
        control_type: 'password',
        optional: false
      }
    ],

    authorization: {
      type: 'custom_auth',

      apply: lambda do |connection|
        headers('Authorization': "Bearer #{connection['api_token']}")
      end
    },

    base_uri: lambda do |connection|
      "https://#{connection['subdomain']}.acme-crm.example.com/api/v2/"
    end
  },

  test: lambda do |_connection|
    get('me')
  end,

  object_definitions: {
    contact: {
      fields: lambda do |_connection, _config_fields|
        [
          { name: 'id', type: 'integer' },
          { name: 'email' },
          { name: 'first_name' },
          { name: 'last_name' },
          { name: 'company' },
          { name: 'updated_at', type: 'date_time' }
        ]
      end
    }
  },

  actions: {
    search_contacts: {
      title: 'Search contacts',
      subtitle: 'Find contacts by e-mail',

      input_fields: lambda do |_object_definitions|
        [{ name: 'email', optional: false }]
      end,

      execute: lambda do |_connection, input|
        { contacts: get('contacts').params(email: input['email'])['data'] }
      end,

      output_fields: lambda do |object_definitions|
        [{ name: 'contacts', type: 'array', of: 'object', properties: object_definitions['contact'] }]
      end
    },

    create_contact: {
      title: 'Create contact',

      input_fields: lambda do |object_definitions|
        object_definitions['contact'].ignored('id', 'updated_at')
      end,

      execute: lambda do |_connection, input|
        post('contacts', input)
      end,

      output_fields: lambda do |object_definitions|
        object_definitions['contact']
      end
    },

    update_contact: {
      title: 'Update contact',

      input_fields: lambda do |object_definitions|
        object_definitions['contact'].ignored('updated_at')
      end,

      execute: lambda do |_connection, input|
        patch("contacts/#{input['id']}", input.except('id'))
      end,

      output_fields: lambda do |object_definitions|
        object_definitions['contact']
      end
    },

    legacy_export: {
      title: 'Legacy export (CSV)',
      subtitle: 'Download all contacts changed since a date as CSV',

      input_fields: lambda do |_object_definitions|
        [{ name: 'since', type: 'date_time', optional: false }]
      end,

      execute: lambda do |_connection, input|
        { csv: get('exports/contacts.csv').params(since: input['since']).response_format_raw }
      end,

      output_fields: lambda do |_object_definitions|
        [{ name: 'csv' }]
      end
    }
  },

  triggers: {
    new_contact: {
      title: 'New contact',

      poll: lambda do |_connection, input, closure|
        since = closure || input['since'] || 1.hour.ago.iso8601
        contacts = get('contacts').params(created_after: since, order: 'created_at')['data']
        {
          events: contacts,
          next_poll: contacts.last&.dig('created_at') || since,
          can_poll_more: contacts.size >= 100
        }
      end,

      dedup: lambda do |contact|
        contact['id']
      end,

      output_fields: lambda do |object_definitions|
        object_definitions['contact']
      end
    },

    updated_contact: {
      title: 'Updated contact',

      poll: lambda do |_connection, input, closure|
        since = closure || input['since'] || 1.hour.ago.iso8601
        contacts = get('contacts').params(updated_after: since, order: 'updated_at')['data']
        { events: contacts, next_poll: contacts.last&.dig('updated_at') || since }
      end,

      dedup: lambda do |contact|
        "#{contact['id']}@#{contact['updated_at']}"
      end,

      output_fields: lambda do |object_definitions|
        object_definitions['contact']
      end
    }
  },

  methods: {
    full_name: lambda do |contact|
      [contact['first_name'], contact['last_name']].compact.join(' ')
    end
  }
}"""

# Sandbox: version 5.  Deliberately a little tricky for a parser (still valid Ruby):
#  - comments that mention `legacy_export:` and `actions: {`;
#  - a squiggly heredoc whose text contains `legacy_export: {` and braces;
#  - nested hashes in sample_output;
#  - `'merge_contacts' => {` (string key) mixed with symbol keys in the actions hash;
#  - a trigger declared with a quoted-symbol key (`"updated_contact": {`);
#  - a *method* (not an action) that is still called `legacy_export`.
ACME_RB_V5 = r"""# Acme CRM connector, v5.
#
# actions: { legacy_export: ... } was removed in this version; exports now go through
# search_contacts + the bulk API.  Recipes that still call legacy_export must be migrated.
{
  title: 'Acme CRM',

  connection: {
    fields: [
      {
        name: 'subdomain',
        label: 'Subdomain',
        hint: 'Your Acme CRM subdomain, e.g. <b>mycompany</b>',
        optional: false
      },
      {
        name: 'api_token',
        label: 'API token',
        control_type: 'password',
        optional: false
      },
      {
        name: 'environment',
        control_type: 'select',
        pick_list: [%w[Production production], %w[Sandbox sandbox]],
        default: 'production',
        optional: true
      }
    ],

    authorization: {
      type: 'custom_auth',

      apply: lambda do |connection|
        headers('Authorization': "Bearer #{connection['api_token']}",
                'X-Acme-Client': 'workato/5')
      end
    },

    base_uri: lambda do |connection|
      host = connection['environment'] == 'sandbox' ? 'sandbox.acme-crm.example.com' : 'acme-crm.example.com'
      "https://#{connection['subdomain']}.#{host}/api/v3/"
    end
  },

  test: lambda do |_connection|
    get('me')
  end,

  object_definitions: {
    contact: {
      fields: lambda do |_connection, _config_fields|
        [
          { name: 'id', type: 'integer' },
          { name: 'email' },
          { name: 'first_name' },
          { name: 'last_name' },
          { name: 'company' },
          { name: 'tags', type: 'array', of: 'string' },
          { name: 'address', type: 'object', properties: [
            { name: 'street' }, { name: 'city' }, { name: 'country_code' }
          ] },
          { name: 'updated_at', type: 'date_time' }
        ]
      end
    }
  },

  actions: {
    search_contacts: {
      title: 'Search contacts',
      subtitle: 'Find contacts by e-mail',

      input_fields: lambda do |_object_definitions|
        [
          { name: 'email', optional: false },
          { name: 'include_archived', type: 'boolean', control_type: 'checkbox', optional: true }
        ]
      end,

      execute: lambda do |_connection, input|
        params = { email: input['email'], archived: input['include_archived'] ? 1 : 0 }
        { contacts: get('contacts').params(params)['data'] }
      end,

      output_fields: lambda do |object_definitions|
        [{ name: 'contacts', type: 'array', of: 'object', properties: object_definitions['contact'] }]
      end,

      sample_output: lambda do |_connection, _input|
        { contacts: [{ id: 1, email: 'ada@example.com', address: { city: 'London', country_code: 'GB' },
                       tags: %w[vip] }] }
      end
    },

    create_contact: {
      title: 'Create contact',

      input_fields: lambda do |object_definitions|
        object_definitions['contact'].ignored('id', 'updated_at')
      end,

      execute: lambda do |_connection, input|
        post('contacts', input)
          .after_error_response(422) do |_code, body, _headers, message|
            error("Acme CRM rejected the contact: #{message}: #{body}")
          end
      end,

      output_fields: lambda do |object_definitions|
        object_definitions['contact']
      end
    },

    update_contact: {
      title: 'Update contact',

      input_fields: lambda do |object_definitions|
        object_definitions['contact'].ignored('updated_at')
      end,

      execute: lambda do |_connection, input|
        patch("contacts/#{input['id']}", input.except('id'))
      end,

      output_fields: lambda do |object_definitions|
        object_definitions['contact']
      end
    },

    # legacy_export: {
    #   title: 'Legacy export (CSV)',
    #   execute: lambda do |_connection, input| ... end
    # },

    'merge_contacts' => {
      title: 'Merge contacts',
      subtitle: 'Merge duplicates into a primary contact',
      help: <<~HELP,
        Merges the duplicate contacts into the primary contact and archives them.
        Older versions offered `legacy_export: { since: ... }` to do this by hand; it is
        gone since version 5 (see the note in the header, and {{merge_docs}}).
      HELP

      input_fields: lambda do |_object_definitions|
        [
          { name: 'primary_id', type: 'integer', optional: false },
          { name: 'duplicate_ids', type: 'array', of: 'integer', optional: false },
          { name: 'strategy', control_type: 'select', pick_list: 'merge_strategies', optional: true }
        ]
      end,

      execute: lambda do |_connection, input|
        body = {
          duplicates: input['duplicate_ids'],
          options: { strategy: input['strategy'] || 'newest_wins', keep: { tags: true, notes: true } }
        }
        post("contacts/#{input['primary_id']}/merge", body)
      end,

      output_fields: lambda do |object_definitions|
        [
          { name: 'contact', type: 'object', properties: object_definitions['contact'] },
          { name: 'merged_ids', type: 'array', of: 'integer' }
        ]
      end,

      sample_output: lambda do |_connection, _input|
        { contact: { id: 1, email: 'ada@example.com', tags: %w[vip merged] }, merged_ids: [2, 3] }
      end
    }
  },

  triggers: {
    new_contact: {
      title: 'New contact',

      poll: lambda do |_connection, input, closure|
        since = closure || input['since'] || 1.hour.ago.iso8601
        contacts = get('contacts').params(created_after: since, order: 'created_at')['data']
        {
          events: contacts,
          next_poll: contacts.last&.dig('created_at') || since,
          can_poll_more: contacts.size >= 100
        }
      end,

      dedup: lambda do |contact|
        contact['id']
      end,

      output_fields: lambda do |object_definitions|
        object_definitions['contact']
      end
    },

    "updated_contact": {
      title: 'Updated contact',

      poll: lambda do |_connection, input, closure|
        since = closure || input['since'] || 1.hour.ago.iso8601
        contacts = get('contacts').params(updated_after: since, order: 'updated_at')['data']
        { events: contacts, next_poll: contacts.last&.dig('updated_at') || since }
      end,

      dedup: lambda do |contact|
        "#{contact['id']}@#{contact['updated_at']}"
      end,

      output_fields: lambda do |object_definitions|
        object_definitions['contact']
      end
    }
  },

  pick_lists: {
    merge_strategies: lambda do |_connection|
      [['Newest wins', 'newest_wins'], ['Primary wins', 'primary_wins']]
    end
  },

  methods: {
    full_name: lambda do |contact|
      [contact['first_name'], contact['last_name']].compact.join(' ')
    end,

    # Not an action: a helper kept for the one-off migration script.
    legacy_export: lambda do |since|
      get('exports/contacts.csv').params(since: since).response_format_raw
    end
  }
}"""


def connector_files(env):
    if env == "sandbox":
        meta = {"title": CONNECTOR_TITLE, "description": "Contacts in Acme CRM (in-house REST API)",
                "logo_file_name": "acme.png", "logo_content_type": "image/png", "version_no": 5,
                "note": "Drop legacy_export; add merge_contacts"}
        code = ACME_RB_V5
    else:
        meta = {"title": CONNECTOR_TITLE, "description": "Contacts in Acme CRM (in-house REST API)",
                "logo_file_name": "acme.png", "logo_content_type": "image/png", "version_no": 3,
                "note": "Add update_contact"}
        code = ACME_RB_V3
    return {
        CONNECTOR_REL: dump(meta).encode(),
        "acme_crm.custom_adapter.rb": code.encode(),
        "acme_crm.custom_adapter.png": LOGO_PNG,
    }


# --------------------------------------------------------------------------------------------
# connections

CONN_FOLDER = "Workspace Connections"
ACME_CONN = ref(asset_path(CONN_FOLDER, "Acme CRM account", "connection"), "Acme CRM account", custom=True)
SF_CONN = ref(asset_path(CONN_FOLDER, "Salesforce account", "connection"), "Salesforce account")
SLACK_CONN = ref(asset_path(CONN_FOLDER, "Slack ops bot", "connection"), "Slack ops bot")
WAREHOUSE_CONN = ref(asset_path(CONN_FOLDER, "Warehouse API", "connection"), "Warehouse API")


def connections(env):
    out = {
        ACME_CONN["zip_name"]: {"name": "Acme CRM account",
                                "provider": ref(CONNECTOR_REL, CONNECTOR_TITLE),
                                "secure_gateway_tunnel_name": None, "root_folder": False},
        SF_CONN["zip_name"]: {"name": "Salesforce account", "provider": "salesforce", "root_folder": False},
    }
    if env == "sandbox":
        out[SLACK_CONN["zip_name"]] = {"name": "Slack ops bot", "provider": "slack_bot", "root_folder": False}
        # Secret-looking fields on purpose: the exporter must strip and report them.
        out[WAREHOUSE_CONN["zip_name"]] = {"name": "Warehouse API", "provider": "rest",
                                           "host": "https://warehouse.sandbox.example.com",
                                           "username": "workato-sandbox",
                                           "password": "s3cr3t-sandbox-value",
                                           "api_key": "AKIA-EXAMPLE-DO-NOT-SHIP",
                                           "root_folder": False}
    else:
        out[WAREHOUSE_CONN["zip_name"]] = {"name": "Warehouse API", "provider": "rest",
                                           "root_folder": False}
    return out


def conn_map(provider):
    return {"salesforce": SF_CONN, "slack_bot": SLACK_CONN, "rest": WAREHOUSE_CONN, provider: ACME_CONN}


# --------------------------------------------------------------------------------------------
# lookup table, template, schema, data table, properties

COUNTRY_CODES = ref("country_codes.lookup_table.json", "Country codes")
ORDER_SCHEMA = ref(asset_path("shared", "Order", "workato_schema"), "Order")
CONFIRMATION_TEMPLATE = ref(asset_path("orders", "Order confirmation email", "workato_template"),
                            "Order confirmation email")
ORDER_HISTORY_TABLE = ref(asset_path("orders/注文", "注文履歴", "workato_db_table"), "注文履歴")


def lookup_table(env):
    rows = [("DE", "Germany", "EMEA"), ("FR", "France", "EMEA"), ("GB", "United Kingdom", "EMEA"),
            ("US", "United States", "AMER")]
    if env == "sandbox":
        rows += [("CA", "Canada", "AMER"), ("JP", "日本", "APAC")]
    schema = []
    for i, label in enumerate(["Code", "Name", "Region"], 1):
        schema.append({"control_type": "text", "label": label, "name": f"col{i}", "sticky": True,
                       "type": "string"})
    schema.append({"control_type": "text", "label": "Untitled column 4", "name": "col4",
                   "sticky": False, "type": "string"})
    return {"name": "Country codes", "schema": schema,
            "data": "".join(",".join(r) + "\n" for r in rows)}


def order_schema(env):
    props = fields("order_id", "customer_email", "amount:number", "country_code", "placed_at:date_time")
    if env == "sandbox":
        props.insert(3, {"control_type": "text", "label": "Currency", "name": "currency", "type": "string",
                         "optional": True, "hint": "ISO 4217, e.g. USD"})
    return {"name": "Order",
            "schema": [{"properties": props, "label": "Order", "name": "order", "type": "object",
                        "optional": True}]}


def confirmation_template():
    return {"name": "Order confirmation email",
            "schema": [{"control_type": "text", "label": "Customer name", "name": "customer_name",
                        "type": "string", "optional": False},
                       {"control_type": "text", "label": "Order ID", "name": "order_id",
                        "type": "string", "optional": False}],
            "content": "Hello {{customer_name}},\n\nThank you for your order {{order_id}}.\n"
                       "We will let you know when it ships.\n\n— Acme Orders"}


def order_history_table():
    return {"name": "注文履歴",
            "schema": [
                {"control_type": "text", "label": "注文ID", "name": "order_id", "type": "string",
                 "optional": False},
                {"control_type": "text", "label": "ステータス", "name": "status", "type": "string",
                 "optional": True},
                {"control_type": "date_time", "label": "記録日時", "name": "recorded_at",
                 "type": "date_time", "optional": True}]}


# --------------------------------------------------------------------------------------------
# recipes

ENRICH = ref("shared/enrich_order.recipe.json", "Enrich order")
LOOKUP_CUSTOMER = ref("shared/lookup_customer.recipe.json", "Lookup customer")
NORMALIZE = ref("shared/normalize_address.recipe.json", "Normalize address")
GET_STATUS = ref("api/get_order_status.recipe.json", "Get order status")
FIND_CUSTOMER = ref("agents/find_customer.recipe.json", "Find customer")
ORDERS_API = ref("api/orders_api.api_group.json", "Orders API")


def function_trigger(r, params, result):
    return {"provider": "workato_recipe_function", "name": "execute", "as": r.a("trigger"),
            "keyword": "trigger",
            "input": {"parameters_schema_json": json.dumps(fields(*params), separators=(",", ":")),
                      "result_schema_json": json.dumps(fields(*result), separators=(",", ":"))},
            "uuid": step_uuid(r.rel, "trigger")}


def call(r, label, target, parameters, full_path=False):
    flow = dict(target)
    if full_path:
        flow["folder_full_path"] = flow["folder"]
    return r.step(label, "workato_recipe_function", "call_recipe", {"flow_id": flow, "parameters": parameters},
                  picklist={"flow_id": target["name"]})


def return_result(r, label, result):
    return r.step(label, "workato_recipe_function", "return_result", {"result": result})


def log(r, label, message):
    return r.step(label, "logger", "log_message",
                  {"user_logs_enabled": False, "message": message, "log_level": "INFO"})


def sync_orders(env, acme):
    r = Recipe("orders/sync_orders.recipe.json", "Sync orders",
               "New Salesforce orders: enrich, make sure the customer exists in Acme CRM, ship.",
               8 if env == "sandbox" else 7, conn_map(acme))
    trig = {"provider": "salesforce", "name": "new_sobject", "as": r.a("trigger"), "keyword": "trigger",
            "input": {"sobject_name": "Order", "since": "2024-01-01T00:00:00+00:00"},
            "uuid": step_uuid(r.rel, "trigger")}
    order_id = pill("salesforce", r.a("trigger"), "Id")
    enriched = pill("workato_recipe_function", r.a("enrich"), "result", "customer_email")
    steps = [
        call(r, "enrich", ENRICH, {"order_id": order_id}),
        r.step("search", acme, "search_contacts", {"email": enriched}),
        r.control("if_missing", "if", {
            "type": "compound", "operand": "and",
            "conditions": [{"operand": "is_not_present", "lhs": pill(acme, r.a("search"), "contacts"),
                            "rhs": "", "uuid": step_uuid(r.rel, "cond_missing")}]}, [
            r.step("create", acme, "create_contact",
                   {"email": enriched,
                    "company": "#{_('data.salesforce." + r.a("trigger") + ".Account.Name')}"}),
        ]),
        r.step("map", "workato_mapper", "map",
               {"workato_schema_id": ORDER_SCHEMA,
                "data": {"order": {"order_id": order_id, "customer_email": enriched,
                                   "country_code": pill("salesforce", r.a("trigger"), "ShippingCountryCode")}}},
               picklist={"workato_schema_id": "Order"}),
        r.step("ship", "rest", "make_request",
               {"method": "POST", "path": "/shipments",
                "body": pill("workato_mapper", r.a("map"), "data", "order"),
                "crm_link": prop_pill("crm_base_url") + "/contacts?email=" + enriched}),
    ]
    if env == "sandbox":
        steps += [
            r.step("confirm", "workato_template", "create_document",
                   {"template_id": CONFIRMATION_TEMPLATE,
                    "template_input": {"customer_name": pill(acme, r.a("search"), "contacts", "first", "first_name"),
                                       "order_id": order_id}},
                   picklist={"template_id": "Order confirmation email"}),
            r.step("notify", "slack_bot", "post_bot_message",
                   {"channel": "#orders",
                    "text": "Order " + order_id + " shipped (region " + REGION_CODE_FORMULA + ")"}),
        ]
    else:
        steps.append(log(r, "done", "Order " + order_id + " shipped"))
    return r.rel, r.build(trig, steps)


def chuumon(env, acme):
    r = Recipe("orders/注文/注文を同期.recipe.json", "注文を同期",
               "Salesforceの注文を1時間ごとにデータテーブル「注文履歴」へ記録します。", 3, conn_map(acme))
    trig = {"provider": "clock", "name": "scheduled_event", "as": r.a("trigger"), "keyword": "trigger",
            "input": {"time_unit": "hours", "trigger_every": "1"}, "uuid": step_uuid(r.rel, "trigger")}
    steps = [
        r.step("search", "salesforce", "search_sobjects",
               {"sobject_name": "Order", "query": "LastModifiedDate = LAST_N_DAYS:1"}),
        r.control("each", "foreach", {"source": pill("salesforce", r.a("search"), "Order")}, [
            r.step("insert", "workato_db_table", "add_record",
                   {"workato_db_table_id": ORDER_HISTORY_TABLE,
                    "record": {"order_id": pill("foreach", r.a("each"), "Id"),
                               "status": pill("foreach", r.a("each"), "Status"),
                               "recorded_at": "=now"}},
                   picklist={"workato_db_table_id": "注文履歴"}),
        ]),
        log(r, "done", "注文を記録しました: " + pill("salesforce", r.a("search"), "Order", "size")),
    ]
    return r.rel, r.build(trig, steps)


def backfill_orders(env, acme):
    r = Recipe("orders/experimental/backfill_orders.recipe.json", "Backfill orders",
               "Experimental: re-enrich last month's orders and re-send them to the warehouse.", 1,
               conn_map(acme))
    trig = {"provider": "clock", "name": "scheduled_event", "as": r.a("trigger"), "keyword": "trigger",
            "input": {"time_unit": "days", "trigger_every": "1"}, "uuid": step_uuid(r.rel, "trigger")}
    steps = [
        r.step("search", "salesforce", "search_sobjects",
               {"sobject_name": "Order", "query": "CreatedDate = LAST_MONTH"}),
        r.control("each", "foreach", {"source": pill("salesforce", r.a("search"), "Order")}, [
            call(r, "enrich", ENRICH, {"order_id": pill("foreach", r.a("each"), "Id")}),
            r.step("ship", "rest", "make_request",
                   {"method": "POST", "path": "/shipments/replay",
                    "body": pill("workato_recipe_function", r.a("enrich"), "result")}),
        ]),
    ]
    return r.rel, r.build(trig, steps)


def enrich_order(env, acme):
    r = Recipe(ENRICH["zip_name"], "Enrich order",
               "Callable: load an order, resolve its customer, return it in the shared Order schema.", 4,
               conn_map(acme))
    trig = function_trigger(r, ["order_id"], ["customer_email", "customer_id:integer", "country_code"])
    steps = [
        r.step("get", "salesforce", "get_sobject", {"sobject_name": "Order",
                                                    "id": pill("workato_recipe_function", r.a("trigger"),
                                                               "parameters", "order_id")}),
        call(r, "customer", LOOKUP_CUSTOMER, {"email": pill("salesforce", r.a("get"), "BillToContact", "Email"),
                                              "country": pill("salesforce", r.a("get"), "BillingCountry")},
             full_path=True),
        r.step("map", "workato_mapper", "map",
               {"workato_schema_id": ORDER_SCHEMA,
                "data": {"order": {"order_id": pill("salesforce", r.a("get"), "Id"),
                                   "amount": pill("salesforce", r.a("get"), "TotalAmount")}}},
               picklist={"workato_schema_id": "Order"}),
        return_result(r, "return", {
            "customer_email": pill("workato_recipe_function", r.a("customer"), "result", "email"),
            "customer_id": pill("workato_recipe_function", r.a("customer"), "result", "contact_id"),
            "country_code": pill("workato_recipe_function", r.a("customer"), "result", "country_code")}),
    ]
    return r.rel, r.build(trig, steps)


def lookup_customer(env, acme):
    r = Recipe(LOOKUP_CUSTOMER["zip_name"], "Lookup customer",
               "Callable: find (or create) the Acme CRM contact for an e-mail address.",
               6 if env == "sandbox" else 5, conn_map(acme))
    trig = function_trigger(r, ["email", "country"], ["contact_id:integer", "email", "country_code"])
    email = pill("workato_recipe_function", r.a("trigger"), "parameters", "email")
    found_id = "=_('data." + acme + "." + r.a("search") + ".contacts').first['id']"
    else_block = []
    if env == "sandbox":
        else_block = [r.control("found", "else", {}, [
            r.step("touch", acme, "update_contact", {"id": found_id, "tags": ["seen-by-workato"]}),
        ])]
    steps = [
        r.step("search", acme, "search_contacts", {"email": email}),
        r.control("if_missing", "if", {
            "type": "compound", "operand": "and",
            "conditions": [{"operand": "is_not_present", "lhs": pill(acme, r.a("search"), "contacts"),
                            "rhs": "", "uuid": step_uuid(r.rel, "cond_missing")}]}, [
            call(r, "normalize", NORMALIZE,
                 {"country": pill("workato_recipe_function", r.a("trigger"), "parameters", "country")}),
            r.step("create", acme, "create_contact",
                   {"email": email,
                    "address": {"country_code": pill("workato_recipe_function", r.a("normalize"),
                                                     "result", "country_code")}}),
        ] + else_block),
        return_result(r, "return", {"contact_id": found_id, "email": email,
                                    "country_code": pill(acme, r.a("search"), "contacts", "first",
                                                         "address", "country_code")}),
    ]
    return r.rel, r.build(trig, steps)


def normalize_address(env, acme):
    r = Recipe(NORMALIZE["zip_name"], "Normalize address",
               "Callable: map a free-text country to its ISO code and sales region.", 2, conn_map(acme))
    trig = function_trigger(r, ["country"], ["country_code", "region"])
    steps = [
        r.step("lookup", "lookup_table", "lookup",
               {"lookup_table_id": COUNTRY_CODES,
                "parameters": {"col2": pill("workato_recipe_function", r.a("trigger"), "parameters", "country")}},
               picklist={"lookup_table_id": "Country codes"}),
        log(r, "log", "Normalized " + pill("workato_recipe_function", r.a("trigger"), "parameters", "country")),
        return_result(r, "return", {"country_code": pill("lookup_table", r.a("lookup"), "entry", "col1"),
                                    "region": pill("lookup_table", r.a("lookup"), "entry", "col3")}),
    ]
    return r.rel, r.build(trig, steps)


def create_contact_from_form(env, acme):
    r = Recipe("contacts/create_contact_from_form.recipe.json", "Create contact from form",
               "Website sign-up form (webhook) to an Acme CRM contact.", 3, conn_map(acme))
    trig = {"provider": "workato_webhooks", "name": "new_event", "as": r.a("trigger"), "keyword": "trigger",
            "input": {"webhook_name": "signup-form"}, "uuid": step_uuid(r.rel, "trigger")}
    steps = [
        r.step("create", acme, "create_contact",
               {"email": pill("workato_webhooks", r.a("trigger"), "email"),
                "first_name": pill("workato_webhooks", r.a("trigger"), "first_name"),
                "company": pill("workato_webhooks", r.a("trigger"), "company")}),
        log(r, "log", "Created " + prop_pill("crm_base_url") + "/contacts/" + pill(acme, r.a("create"), "id")),
    ]
    return r.rel, r.build(trig, steps)


def merge_duplicate_contacts(env, acme):
    r = Recipe("contacts/merge_duplicate_contacts.recipe.json", "Merge duplicate contacts",
               "When a contact changes, merge other contacts that share its e-mail (needs connector v5).", 1,
               conn_map(acme))
    trig = {"provider": acme, "name": "updated_contact", "as": r.a("trigger"), "keyword": "trigger",
            "input": {"since": "2024-06-01T00:00:00+00:00"}, "uuid": step_uuid(r.rel, "trigger")}
    steps = [
        r.step("search", acme, "search_contacts", {"email": pill(acme, r.a("trigger"), "email"),
                                                   "include_archived": "false"}),
        r.control("if_dupes", "if", {
            "type": "compound", "operand": "and",
            "conditions": [{"operand": "greater_than",
                            "lhs": "=_('data." + acme + "." + r.a("search") + ".contacts').size",
                            "rhs": "1", "uuid": step_uuid(r.rel, "cond_dupes")}]}, [
            r.step("merge", acme, "merge_contacts",
                   {"primary_id": pill(acme, r.a("trigger"), "id"),
                    "duplicate_ids": "=_('data." + acme + "." + r.a("search") + ".contacts').pluck('id') - ["
                                     + "_('data." + acme + "." + r.a("trigger") + ".id')]",
                    "strategy": "primary_wins"}),
            log(r, "log", "Merged into " + prop_pill("crm_base_url") + "/contacts/" + pill(acme, r.a("trigger"), "id")
                + " (" + REGION_CODE_FORMULA + ")"),
        ]),
    ]
    return r.rel, r.build(trig, steps)


def get_order_status(env, acme):
    r = Recipe(GET_STATUS["zip_name"], "Get order status",
               "API endpoint GET /orders/:id/status.", 5, conn_map(acme))
    trig = {"provider": "workato_api_platform", "name": "receive_request", "as": r.a("trigger"),
            "keyword": "trigger",
            "input": {"request": {"content_type": "json", "path_params": "id"},
                      "response": {"content_type": "json", "responses": [
                          {"name": "Success", "http_status_code": "200",
                           "body_schema": json.dumps(fields("order_id", "status", "customer_email"),
                                                     separators=(",", ":"))},
                          {"name": "Not found", "http_status_code": "404", "body_schema": "[]"}]}},
            "uuid": step_uuid(r.rel, "trigger")}
    order_id = pill("workato_api_platform", r.a("trigger"), "request", "path_params", "id")
    steps = [
        r.step("history", "workato_db_table", "search_records",
               {"workato_db_table_id": ORDER_HISTORY_TABLE, "filters": {"order_id": order_id}},
               picklist={"workato_db_table_id": "注文履歴"}),
        call(r, "enrich", ENRICH, {"order_id": order_id}),
        r.step("respond", "workato_api_platform", "return_response",
               {"http_status_code": "200",
                "response": {"order_id": order_id,
                             "status": pill("workato_db_table", r.a("history"), "records", "first", "status"),
                             "customer_email": pill("workato_recipe_function", r.a("enrich"), "result",
                                                    "customer_email")}}),
    ]
    return r.rel, r.build(trig, steps)


def find_customer(env, acme):
    r = Recipe(FIND_CUSTOMER["zip_name"], "Find customer",
               "Skill recipe for the support agent: look a customer up by e-mail.", 2, conn_map(acme))
    trig = {"provider": "workato_genie", "name": "start_workflow", "as": r.a("trigger"), "keyword": "trigger",
            "input": {"parameters_schema_json": json.dumps(fields("email"), separators=(",", ":"))},
            "uuid": step_uuid(r.rel, "trigger")}
    steps = [
        call(r, "lookup", LOOKUP_CUSTOMER, {"email": pill("workato_genie", r.a("trigger"), "parameters", "email")}),
        r.step("return", "workato_genie", "workflow_return_result",
               {"result": {"contact_id": pill("workato_recipe_function", r.a("lookup"), "result", "contact_id")}}),
    ]
    return r.rel, r.build(trig, steps)


def legacy_nightly_export(env, acme):
    r = Recipe("prod-only/legacy_nightly_export.recipe.json", "Legacy nightly export",
               "Nightly CSV export of changed contacts to the warehouse (uses the old legacy_export action).",
               12, conn_map(acme))
    trig = {"provider": "clock", "name": "scheduled_event", "as": r.a("trigger"), "keyword": "trigger",
            "input": {"time_unit": "days", "trigger_every": "1", "start_after": "2023-01-01T02:00:00+00:00"},
            "uuid": step_uuid(r.rel, "trigger")}
    steps = [
        r.step("export", acme, "legacy_export", {"since": "=now - 1.day"}),
        r.step("upload", "rest", "make_request",
               {"method": "PUT", "path": "/imports/contacts.csv", "body": pill(acme, r.a("export"), "csv")}),
        log(r, "log", "Exported to " + prop_pill("ops_alert_channel")),
    ]
    return r.rel, r.build(trig, steps)


def contact_watch(env, acme):
    r = Recipe("prod-only/contact_watch.recipe.json", "Contact watch",
               "Mirror every new Acme CRM contact into Salesforce.", 4, conn_map(acme))
    trig = {"provider": acme, "name": "new_contact", "as": r.a("trigger"), "keyword": "trigger",
            "input": {"since": "2023-01-01T00:00:00+00:00"}, "uuid": step_uuid(r.rel, "trigger")}
    steps = [
        r.step("upsert", "salesforce", "upsert_sobject",
               {"sobject_name": "Contact", "external_id_field": "Email",
                "Email": pill(acme, r.a("trigger"), "email"),
                "LastName": pill(acme, r.a("trigger"), "last_name")}),
        log(r, "log", "Mirrored contact " + pill(acme, r.a("trigger"), "id")),
    ]
    return r.rel, r.build(trig, steps)


def weekly_report(env, acme):
    r = Recipe("prod-only/weekly_report.recipe.json", "Weekly report",
               "Monday report of last week's orders with customer details.", 9, conn_map(acme))
    trig = {"provider": "clock", "name": "scheduled_event", "as": r.a("trigger"), "keyword": "trigger",
            "input": {"time_unit": "weeks", "trigger_every": "1"}, "uuid": step_uuid(r.rel, "trigger")}
    steps = [
        r.step("search", "salesforce", "search_sobjects",
               {"sobject_name": "Order", "query": "CreatedDate = LAST_WEEK"}),
        r.control("each", "foreach", {"source": pill("salesforce", r.a("search"), "Order")}, [
            call(r, "enrich", ENRICH, {"order_id": pill("foreach", r.a("each"), "Id")}),
        ]),
        log(r, "log", "Weekly report sent to " + prop_pill("ops_alert_channel")),
    ]
    return r.rel, r.build(trig, steps)


SHARED_RECIPES = [sync_orders, chuumon, enrich_order, lookup_customer, normalize_address,
                  create_contact_from_form, get_order_status, find_customer]
SANDBOX_ONLY_RECIPES = [backfill_orders, merge_duplicate_contacts]
PRODUCTION_ONLY_RECIPES = [legacy_nightly_export, contact_watch, weekly_report]


# --------------------------------------------------------------------------------------------
# environments


def environment(env):
    acme = SANDBOX_PROVIDER if env == "sandbox" else PRODUCTION_PROVIDER
    files = {}

    def put(rel, value):
        assert rel not in files, rel
        files[rel] = value if isinstance(value, bytes) else dump(value).encode()

    files.update(connector_files(env))
    for rel, body in connections(env).items():
        put(rel, body)
    put(COUNTRY_CODES["zip_name"], lookup_table(env))
    put(ORDER_SCHEMA["zip_name"], order_schema(env))
    put(ORDER_HISTORY_TABLE["zip_name"], order_history_table())
    if env == "sandbox":
        put(CONFIRMATION_TEMPLATE["zip_name"], confirmation_template())
        put("account_properties.properties.json", {"crm_base_url": None, "Region code": None})
        put("properties.project_properties.json",
            {"data": {"default_currency": "USD", "support_email": "support@example.com"}})
    else:
        put("account_properties.properties.json",
            {"crm_base_url": "https://acme.acme-crm.example.com", "ops_alert_channel": "#crm-prod-alerts"})

    recipes = SHARED_RECIPES + (SANDBOX_ONLY_RECIPES if env == "sandbox" else PRODUCTION_ONLY_RECIPES)
    for make in recipes:
        rel, body = make(env, acme)
        assert rel == asset_path(os.path.dirname(rel), body["name"], "recipe"), rel
        put(rel, body)

    put(ORDERS_API["zip_name"], {"name": "Orders API", "version": "1.0",
                                 "description": "Read-only order status for the customer portal.",
                                 "handle": "orders-api-v1", "use_prefix": True})
    put(asset_path("api", "Get order status", "api_endpoint"),
        {"name": "Get order status", "recipe_id": GET_STATUS, "api_group_id": ORDERS_API, "method": "GET",
         "path": "orders/:id/status", "legacy": False, "validate_request": False})
    put(asset_path("agents", "Find customer", "agentic_skill"),
        {"name": "Find customer",
         "description": "Look up an Acme CRM customer by e-mail address and return the contact ID.",
         "recipe_id": FIND_CUSTOMER})
    return files


def broken():
    files = {}
    sf = ref("Connections/salesforce_account.connection.json", "Salesforce account")
    files[sf["zip_name"]] = dump({"name": "Salesforce account", "provider": "salesforce",
                                  "root_folder": False}).encode()

    # dangling: flow_id -> a recipe that is not there; account_id -> a connection that is not there
    r = Recipe("orders/dangling_caller.recipe.json", "Dangling caller",
               "References a recipe and a connection that do not exist.", 1,
               {"salesforce": ref("Connections/deleted_salesforce.connection.json", "Deleted Salesforce")})
    trig = {"provider": "clock", "name": "scheduled_event", "as": r.a("trigger"), "keyword": "trigger",
            "input": {"time_unit": "hours", "trigger_every": "1"}, "uuid": step_uuid(r.rel, "trigger")}
    body = r.build(trig, [
        r.step("search", "salesforce", "search_sobjects", {"sobject_name": "Order", "query": "Id != null"}),
        call(r, "call", ref("orders/missing_helper.recipe.json", "Missing helper"), {"order_id": "1"}),
    ])
    files[r.rel] = dump(body).encode()

    # a call cycle: Cycle A -> Cycle B -> Cycle A
    a = ref("cycle/cycle_a.recipe.json", "Cycle A")
    b = ref("cycle/cycle_b.recipe.json", "Cycle B")
    for me, other in ((a, b), (b, a)):
        r = Recipe(me["zip_name"], me["name"], f"Calls {other['name']}, which calls back.", 1, {})
        body = r.build(function_trigger(r, ["depth:integer"], ["depth:integer"]), [
            call(r, "call", other, {"depth": pill("workato_recipe_function", r.a("trigger"), "parameters", "depth")}),
            return_result(r, "return", {"depth": pill("workato_recipe_function", r.a("call"), "result", "depth")}),
        ])
        files[r.rel] = dump(body).encode()

    return files


# --------------------------------------------------------------------------------------------
# write + verify


def write_tree(name, files):
    root = os.path.join(HERE, name)
    if os.path.isdir(root):
        shutil.rmtree(root)
    for rel in sorted(files):
        path = os.path.join(root, *rel.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(files[rel])


REF_KEYS = {
    "flow_id": "recipe->recipe (flow_id)",
    "lookup_table_id": "recipe->lookup_table",
    "template_id": "recipe->workato_template",
    "workato_schema_id": "recipe->workato_schema",
    "workato_db_table_id": "recipe->workato_db_table",
}
PROVIDER_NAME = re.compile(r"\b([a-z0-9_]+_connector_\d+_\d+)\b")
PROP_PILL = re.compile(r'"pill_type":"account_property","property_name":"([^"]+)"')
PROP_FORMULA = re.compile(r"account_properties\.([A-Za-z0-9_]+)', 'account_property', '([^']+)'")


def read_tree(root):
    files = {}
    for dirpath, _dirs, names in os.walk(root):
        for n in names:
            full = os.path.join(dirpath, n)
            files[os.path.relpath(full, root).replace(os.sep, "/")] = open(full, "rb").read()
    return files


def analyse(root):
    """Returns (problems, counts): counts are distinct (from, to) edges per reference kind."""
    files = read_tree(root)
    problems, edges = [], {}

    def add(kind, frm, to):
        edges.setdefault(kind, set()).add((frm, to))
        if kind.startswith("recipe->account_property"):
            return
        if to not in files:
            problems.append(f"{frm}: dangling {kind} reference to {to}")

    props = {}
    if "account_properties.properties.json" in files:
        props = json.loads(files["account_properties.properties.json"])
    for rel, data in sorted(files.items()):
        if rel.endswith(".png"):
            continue
        text = data.decode("utf-8")
        if text.endswith("\n"):
            problems.append(f"{rel}: ends with a newline")
        if not rel.endswith(".json"):
            continue
        try:
            doc = json.loads(text)
        except ValueError as e:
            problems.append(f"{rel}: invalid JSON: {e}")
            continue
        if text != dump(doc):
            problems.append(f"{rel}: not in Workato's JSON style")
        kind = rel.rsplit("/", 1)[-1].split(".")[-2]
        if kind == "connection" and isinstance(doc.get("provider"), dict):
            add("connection->custom_adapter", rel, doc["provider"]["zip_name"])
        if kind == "api_endpoint":
            add("api_endpoint->recipe", rel, doc["recipe_id"]["zip_name"])
            add("api_endpoint->api_group", rel, doc["api_group_id"]["zip_name"])
        if kind == "agentic_skill":
            add("agentic_skill->recipe", rel, doc["recipe_id"]["zip_name"])
        if kind != "recipe":
            continue
        custom_conns = []
        for c in doc.get("config", []):
            acct = c.get("account_id")
            if isinstance(acct, dict):
                k = "recipe->connection (custom)" if acct.get("custom") else "recipe->connection"
                add(k, rel, acct["zip_name"])
                if acct.get("custom"):
                    custom_conns.append((c["provider"], acct["zip_name"]))

        def walk(node):
            if isinstance(node, dict):
                for k, v in node.items():
                    if k in REF_KEYS and isinstance(v, dict) and "zip_name" in v:
                        add(REF_KEYS[k], rel, v["zip_name"])
                    walk(v)
            elif isinstance(node, list):
                for v in node:
                    walk(v)

        walk(doc["code"])
        strings = []

        def collect(node):
            if isinstance(node, dict):
                node = list(node.values())
            if isinstance(node, list):
                for v in node:
                    collect(v)
            elif isinstance(node, str):
                strings.append(node)

        collect(doc)
        text = "\n".join(strings)
        for provider in sorted(set(PROVIDER_NAME.findall(text))):
            conn = dict(custom_conns).get(provider)
            if conn is None or conn not in files:
                problems.append(f"{rel}: provider {provider} has no custom connection in config")
                continue
            target = json.loads(files[conn])["provider"]["zip_name"]
            add("recipe->custom_adapter (provider name)", rel, target)
        for name in PROP_PILL.findall(text):
            add("recipe->account_property (_dp pill)", rel, name)
            if name not in props:
                problems.append(f"{rel}: account property {name} is not defined")
        for _path, name in PROP_FORMULA.findall(text):
            add("recipe->account_property (formula)", rel, name)
            if name not in props:
                problems.append(f"{rel}: account property {name} is not defined")
    return problems, {k: len(v) for k, v in sorted(edges.items())}


def main():
    check_only = "--check" in sys.argv[1:]
    if not check_only:
        write_tree("sandbox", environment("sandbox"))
        write_tree("production", environment("production"))
        write_tree("broken", broken())
    ok = True
    for name in TREES:
        problems, counts = analyse(os.path.join(HERE, name))
        n = len(read_tree(os.path.join(HERE, name)))
        print(f"{name}: {n} files")
        for kind, count in counts.items():
            print(f"  {kind:42} {count}")
        if name == "broken":
            print(f"  expected findings: {len(problems)}")
            for p in problems:
                print(f"    {p}")
        elif problems:
            ok = False
            for p in problems:
                print(f"  PROBLEM: {p}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
