using System.Text.Json.Serialization;

namespace EventBus.Sqlite;

/// <summary>Source-generated JSON for the tags column.</summary>
[JsonSerializable(typeof(IReadOnlyList<string>))]
internal sealed partial class TagsJson : JsonSerializerContext;
