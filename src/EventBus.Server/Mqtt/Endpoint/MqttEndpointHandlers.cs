using System.Buffers;
using EventBus.Core.Bus;
using EventBus.Core.Security;
using EventBus.Server.Security;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace EventBus.Server.Mqtt.Endpoint;

/// <summary>
/// The endpoint's rules, hooked into MQTTnet's server. Connect: the password is a bus token, checked exactly as HTTP
/// checks bearer tokens (required on a network bind or once any token exists). Publish: needs the publish scope; topic
/// <c>a/b</c> is stored as an event on channel <c>mqtt:a/b</c> (type <c>mqtt_message</c>, <c>mqtt_retained</c> when
/// retained, <c>mqtt_will</c> for a last will) before the PUBACK, and reaches subscribers from the log
/// (<see cref="MqttEndpointRelay"/>), not directly. Subscribe: any valid token (read scope). Only <c>mqtt:</c> channels
/// are ever mapped, so direct messages (<c>session:…</c>) never reach MQTT.
/// </summary>
internal sealed partial class MqttEndpointHandlers(
    TokenAuthenticator authenticator, BusService bus, MqttEndpointState state, Limits.CallerLimits limits, ILogger<MqttEndpointHandlers> logger)
{
    /// <summary>Marks messages the relay injects, so the publish hook lets them through untouched.</summary>
    public static readonly System.Collections.IDictionary Injected = new System.Collections.Hashtable { ["eventbus.injected"] = true };

    private const string CallerKey = "eventbus.caller";
    private const string VersionKey = "eventbus.protocol";
    private const string LimitKey = "eventbus.limit_key";

    public const string MessageType = "mqtt_message";
    public const string RetainedType = "mqtt_retained";
    public const string WillType = "mqtt_will";

    /// <summary>The session_id of events a client published: its origin (and, for no-local, its client id).</summary>
    public static string Origin(string clientId) => "mqtt-client:" + clientId;

    public void Attach(MqttServer server)
    {
        server.ValidatingConnectionAsync += ValidateConnectionAsync;
        server.InterceptingPublishAsync += InterceptPublishAsync;
        server.InterceptingSubscriptionAsync += InterceptSubscriptionAsync;
        server.ClientConnectedAsync += _ =>
        {
            state.ClientConnected();
            return Task.CompletedTask;
        };
        server.ClientDisconnectedAsync += _ =>
        {
            state.ClientDisconnected();
            return Task.CompletedTask;
        };
        server.StartedAsync += _ =>
        {
            state.MarkStarted();
            return Task.CompletedTask;
        };
    }

    private async Task ValidateConnectionAsync(ValidatingConnectionEventArgs e)
    {
        var caller = Caller.Open;
        if (await authenticator.IsRequiredAsync(e.CancellationToken))
        {
            if (e.RawPassword is not { Length: > 0 })
            {
                Refuse(e, MqttConnectReasonCode.NotAuthorized,
                    "this bus needs a token: send it as the MQTT password (any user name), e.g. mosquitto_sub -u bus -P <token>");
                return;
            }

            var (token, problem) = await authenticator.AuthenticateAsync(e.Password, e.CancellationToken);
            if (token is null)
            {
                Refuse(e, MqttConnectReasonCode.BadUserNameOrPassword, problem!);
                return;
            }

            caller = new Caller(token);
        }

        if (string.IsNullOrEmpty(e.ClientId) && e.CleanSession == true)
        {
            // MQTT 5 lets a client leave its id to the server (mosquitto_pub does); a session it cannot resume anyway.
            e.AssignedClientIdentifier = "eventbus-" + Guid.NewGuid().ToString("N");
        }

        e.SessionItems[CallerKey] = caller;
        e.SessionItems[VersionKey] = e.ProtocolVersion;
        // Per-caller publish limits apply as over HTTP: by token, else by address (this machine's own clients exempt).
        var address = (e.RemoteEndPoint as System.Net.IPEndPoint)?.Address;
        e.SessionItems[LimitKey] = (
            Hosting.CallerKey.Of(caller.TokenId, address), Hosting.CallerKey.IsLocalWithoutToken(caller.TokenId, address));
    }

    private void Refuse(ValidatingConnectionEventArgs e, MqttConnectReasonCode code, string reason)
    {
        e.ReasonCode = code;
        e.ReasonString = reason;
        state.AddRefused();
        LogRefusedConnect(logger, e.ClientId, e.RemoteEndPoint?.ToString(), reason);
    }

    private async Task InterceptPublishAsync(InterceptingPublishEventArgs e)
    {
        if (ReferenceEquals(e.SessionItems, Injected))
        {
            return; // the relay delivering a bus event to subscribers
        }

        // Every client publish goes into the log; subscribers get it from there, like every other event.
        e.ProcessPublish = false;
        var caller = e.SessionItems[CallerKey] as Caller ?? Caller.Open;
        if (!caller.Has(TokenScope.Publish))
        {
            Refuse(e, MqttPubAckReasonCode.NotAuthorized, $"publishing needs a token with the publish scope; {caller.Describe()} may only read");
            return;
        }

        if (e.SessionItems[LimitKey] is (string limitKey, bool local) && limits.TryPublish(limitKey, local) is { } limited)
        {
            Refuse(e, MqttPubAckReasonCode.QuotaExceeded, limited.Message);
            return;
        }

        var message = e.ApplicationMessage;
        // MQTTnet dispatches a last will with no cancellation token (the connection is gone); a client's publish has one.
        var isWill = !e.CancellationToken.CanBeCanceled;
        var (text, isBase64) = MqttPayloads.ToText(message.Payload.ToArray());
        List<string>? tags = null;
        if (isBase64 || message.Retain)
        {
            tags = [.. isBase64 ? new[] { MqttPayloads.Base64Tag } : [], .. message.Retain ? new[] { MqttTopics.RetainedTag } : []];
        }

        var type = isWill ? WillType : message.Retain ? RetainedType : MessageType;
        try
        {
            await bus.PublishAsync(
                new PublishRequest(type, text, Origin(e.ClientId), MqttTopics.ChannelPrefix + message.Topic, message.Topic, tags), e.CancellationToken);
            state.AddIn();
        }
        catch (BusValidationException ex)
        {
            Refuse(e, MqttPubAckReasonCode.PayloadFormatInvalid, ex.Message);
        }
    }

    private void Refuse(InterceptingPublishEventArgs e, MqttPubAckReasonCode code, string reason)
    {
        state.AddRefused();
        LogRefusedPublish(logger, e.ClientId, e.ApplicationMessage.Topic, reason);
        if (e.SessionItems[VersionKey] is MqttProtocolVersion.V500)
        {
            e.Response.ReasonCode = code;
            e.Response.ReasonString = reason;
        }
        else
        {
            // MQTT 3.1.1 has no way to refuse a publish but closing the connection.
            e.CloseConnection = true;
        }
    }

    private Task InterceptSubscriptionAsync(InterceptingSubscriptionEventArgs e)
    {
        // Any caller that connected holds at least the read scope; the check is here for when scopes grow.
        if (e.SessionItems[CallerKey] is not Caller caller || !caller.Has(TokenScope.Read))
        {
            e.ProcessSubscription = false;
            e.Response.ReasonCode = MqttSubscribeReasonCode.NotAuthorized;
            state.AddRefused();
        }

        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 1470, Level = LogLevel.Warning, Message = "MQTT endpoint refused client {ClientId} from {Endpoint}: {Reason}")]
    private static partial void LogRefusedConnect(ILogger logger, string clientId, string? endpoint, string reason);

    [LoggerMessage(EventId = 1471, Level = LogLevel.Information, Message = "MQTT endpoint refused a publish of client {ClientId} on {Topic}: {Reason}")]
    private static partial void LogRefusedPublish(ILogger logger, string clientId, string topic, string reason);
}
