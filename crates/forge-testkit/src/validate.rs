//! Request-body checks worded like OpenAI's, so the gateway's error mapping is exercised
//! against realistic upstream errors.

use serde_json::{Map, Value};

use crate::openai_error::OpenAiError;

/// Chat roles OpenAI accepts (`function` is deprecated but still accepted there).
const ROLES: [&str; 6] = [
    "system",
    "developer",
    "user",
    "assistant",
    "tool",
    "function",
];

pub(crate) fn content_type_is_json(content_type: Option<&str>) -> Result<(), OpenAiError> {
    let ok = content_type
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if ok {
        return Ok(());
    }
    Err(OpenAiError::invalid(
        format!(
            "Invalid Content-Type header ({}), expected application/json.",
            content_type.unwrap_or("none")
        ),
        None,
        None,
    ))
}

pub(crate) fn parse_object(body: &[u8]) -> Result<Map<String, Value>, OpenAiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(OpenAiError::invalid(
            "Invalid request body: expected a JSON object.",
            None,
            None,
        )),
        Err(_) => Err(OpenAiError::invalid(
            "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
            None,
            None,
        )),
    }
}

pub(crate) fn model(body: &Map<String, Value>, models: &[String]) -> Result<String, OpenAiError> {
    let model = match body.get("model") {
        None | Some(Value::Null) => {
            return Err(OpenAiError::invalid(
                "you must provide a model parameter",
                None,
                None,
            ));
        }
        Some(Value::String(m)) => m.clone(),
        Some(other) => return Err(invalid_type("model", "a string", other)),
    };
    if !models.contains(&model) {
        return Err(OpenAiError {
            status: 404,
            message: format!("The model `{model}` does not exist or you do not have access to it."),
            kind: "invalid_request_error",
            param: None,
            code: Some("model_not_found"),
        });
    }
    Ok(model)
}

pub(crate) fn messages(body: &Map<String, Value>) -> Result<&Vec<Value>, OpenAiError> {
    let messages = match body.get("messages") {
        None => return Err(missing("messages")),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(invalid_type("messages", "an array", other)),
    };
    if messages.is_empty() {
        return Err(OpenAiError::invalid(
            "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.",
            Some("messages".to_owned()),
            Some("empty_array"),
        ));
    }
    for (i, message) in messages.iter().enumerate() {
        let at = format!("messages[{i}]");
        let Some(message) = message.as_object() else {
            return Err(invalid_type(&at, "an object", message));
        };
        let role = match message.get("role") {
            None => return Err(missing(&format!("{at}.role"))),
            Some(Value::String(r)) => r.as_str(),
            Some(other) => return Err(invalid_type(&format!("{at}.role"), "a string", other)),
        };
        if !ROLES.contains(&role) {
            return Err(OpenAiError::invalid(
                format!(
                    "Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', 'function', 'tool', and 'developer'."
                ),
                Some(format!("{at}.role")),
                Some("invalid_value"),
            ));
        }
        if role == "tool" && !message.get("tool_call_id").is_some_and(Value::is_string) {
            return Err(missing(&format!("{at}.tool_call_id")));
        }
    }
    Ok(messages)
}

/// `stream` must be a boolean when present; `null` means false.
pub(crate) fn stream_flag(body: &Map<String, Value>) -> Result<bool, OpenAiError> {
    match body.get("stream") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(invalid_type("stream", "a boolean", other)),
    }
}

/// Whether a usage chunk is wanted; OpenAI refuses `stream_options` without streaming.
pub(crate) fn include_usage(body: &Map<String, Value>, stream: bool) -> Result<bool, OpenAiError> {
    match body.get("stream_options") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Object(opts)) => {
            if !stream {
                return Err(OpenAiError::invalid(
                    "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
                    Some("stream_options".to_owned()),
                    None,
                ));
            }
            Ok(opts.get("include_usage").and_then(Value::as_bool) == Some(true))
        }
        Some(other) => Err(invalid_type("stream_options", "an object", other)),
    }
}

pub(crate) fn missing(param: &str) -> OpenAiError {
    OpenAiError::invalid(
        format!("Missing required parameter: '{param}'."),
        Some(param.to_owned()),
        Some("missing_required_parameter"),
    )
}

pub(crate) fn invalid_type(param: &str, expected: &str, got: &Value) -> OpenAiError {
    let got = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    OpenAiError::invalid(
        format!("Invalid type for '{param}': expected {expected}, but got {got} instead."),
        Some(param.to_owned()),
        Some("invalid_type"),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn checks_messages() {
        let ok = obj(json!({"messages": [
            {"role": "user", "content": "hi"},
            {"role": "tool", "tool_call_id": "call_1", "content": "x"}
        ]}));
        assert!(messages(&ok).is_ok());
        let cases = [
            (json!({}), "messages"),
            (json!({"messages": "hi"}), "messages"),
            (json!({"messages": []}), "messages"),
            (json!({"messages": [1]}), "messages[0]"),
            (json!({"messages": [{"content": "x"}]}), "messages[0].role"),
            (json!({"messages": [{"role": "robot"}]}), "messages[0].role"),
            (
                json!({"messages": [{"role": "user"}, {"role": "tool", "content": "x"}]}),
                "messages[1].tool_call_id",
            ),
        ];
        for (body, param) in cases {
            let err = messages(&obj(body)).unwrap_err();
            assert_eq!(err.param.as_deref(), Some(param));
            assert_eq!(err.status, 400);
        }
    }

    #[test]
    fn checks_model_and_flags() {
        let models = vec!["m".to_owned()];
        assert_eq!(model(&obj(json!({"model": "m"})), &models).unwrap(), "m");
        assert_eq!(model(&obj(json!({})), &models).unwrap_err().status, 400);
        assert_eq!(
            model(&obj(json!({"model": 1})), &models)
                .unwrap_err()
                .status,
            400
        );
        let unknown = model(&obj(json!({"model": "x"})), &models).unwrap_err();
        assert_eq!(
            (unknown.status, unknown.code),
            (404, Some("model_not_found"))
        );
        assert!(stream_flag(&obj(json!({"stream": "yes"}))).is_err());
        assert!(
            include_usage(
                &obj(json!({"stream_options": {"include_usage": true}})),
                false
            )
            .is_err()
        );
        assert!(
            include_usage(
                &obj(json!({"stream_options": {"include_usage": true}})),
                true
            )
            .unwrap()
        );
    }

    #[test]
    fn checks_content_type() {
        assert!(content_type_is_json(Some("application/json; charset=utf-8")).is_ok());
        assert!(content_type_is_json(Some("text/plain")).is_err());
        assert!(content_type_is_json(None).is_err());
    }
}
