using System.Text;
using EventBus.Core.Bus;
using EventBus.Core.Events;

namespace EventBus.Server.Mqtt;

/// <summary>MQTT payloads are bytes, event payloads text: UTF-8 text is kept as is, anything else as base64 with a tag.</summary>
internal static class MqttPayloads
{
    /// <summary>The tag of an event whose payload is base64 of binary bytes.</summary>
    public const string Base64Tag = "base64";

    public static (string Text, bool IsBase64) ToText(byte[] payload) =>
        TextRules.FirstInvalidUtf8Byte(payload) < 0 ? (Encoding.UTF8.GetString(payload), false) : (Convert.ToBase64String(payload), true);

    /// <summary>The bytes to send for an event: a base64-tagged payload as the bytes it holds, any other as UTF-8.</summary>
    public static byte[] ToBytes(BusEvent e)
    {
        if (e.Tags?.Contains(Base64Tag) == true)
        {
            try
            {
                return Convert.FromBase64String(e.Payload);
            }
            catch (FormatException)
            {
                // Tagged by someone else, not base64 after all: send the text.
            }
        }

        return Encoding.UTF8.GetBytes(e.Payload);
    }
}
