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
}