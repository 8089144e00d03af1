# Acme CRM connector, v5.
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
}