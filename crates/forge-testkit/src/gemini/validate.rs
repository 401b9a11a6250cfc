//! `GenerateContentRequest` checks, worded like Google's: unknown fields at every level, the
//! `user`/`model` roles, non-empty contents and parts, and function call / response turns.

use serde_json::{Map, Value};

use super::error::GoogleError;
use super::fields::{self, check_known, get, join};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallingMode {
    Auto,
    Any,
    None,
}

#[derive(Debug, Clone)]
pub(crate) struct GenerateRequest {
    /// Text of the last user turn, where the triggers are looked for.
    pub(crate) prompt: String,
    /// Declared functions: name and parameter schema.
    pub(crate) functions: Vec<(String, Value)>,
    pub(crate) mode: CallingMode,
    pub(crate) allowed: Option<Vec<String>>,
    /// Whether the model "thinks" (any thinkingConfig budget or level, or includeThoughts).
    pub(crate) thinking: bool,
    pub(crate) include_thoughts: bool,
    pub(crate) stop_sequences: Vec<String>,
    pub(crate) max_output_tokens: Option<u64>,
    pub(crate) prompt_tokens: u64,
    /// Whether `cachedContent` was named.
    pub(crate) cached: bool,
}

fn invalid(message: impl Into<String>) -> GoogleError {
    GoogleError::invalid(message)
}

fn object<'a>(value: &'a Value, at: &str) -> Result<&'a Map<String, Value>, GoogleError> {
    value.as_object().ok_or_else(|| {
        invalid(format!(
            "Invalid value at '{at}', expected an object but got {value}"
        ))
    })
}

fn array<'a>(value: &'a Value, at: &str) -> Result<&'a Vec<Value>, GoogleError> {
    value.as_array().ok_or_else(|| {
        invalid(format!(
            "Invalid value at '{at}', expected a list but got {value}"
        ))
    })
}

pub(crate) fn generate_request(body: &Map<String, Value>) -> Result<GenerateRequest, GoogleError> {
    check_known(body, fields::REQUEST, "")?;
    let contents = match get(body, "contents") {
        None => Vec::new(),
        Some(v) => array(v, "contents")?.clone(),
    };
    let (prompt, prompt_chars) = check_contents(&contents)?;
    let mut chars = prompt_chars;
    if let Some(system) = get(body, "systemInstruction") {
        chars += check_content(system, "system_instruction", true)?;
    }
    let functions = tools(get(body, "tools"))?;
    let (mode, allowed) = tool_config(get(body, "toolConfig"))?;
    let config = match get(body, "generationConfig") {
        Some(v) => object(v, "generation_config")?.clone(),
        None => Map::new(),
    };
    check_known(&config, fields::GENERATION_CONFIG, "generation_config")?;
    for name in ["maxOutputTokens", "candidateCount", "topK", "seed"] {
        if let Some(v) = get(&config, name)
            && !v.is_i64()
        {
            return Err(bad_value(name, "TYPE_INT32", v));
        }
    }
    for name in ["temperature", "topP", "presencePenalty", "frequencyPenalty"] {
        if let Some(v) = get(&config, name)
            && !v.is_number()
        {
            return Err(bad_value(name, "TYPE_FLOAT", v));
        }
    }
    let stop_sequences = match get(&config, "stopSequences") {
        None => Vec::new(),
        Some(v) => array(v, "generation_config.stop_sequences")?
            .iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad_value("stopSequences", "TYPE_STRING", s))
            })
            .collect::<Result<_, _>>()?,
    };
    let max_output_tokens = get(&config, "maxOutputTokens").and_then(Value::as_i64);
    if max_output_tokens.is_some_and(|m| m < 1) {
        return Err(invalid(
            "* GenerateContentRequest.generation_config.max_output_tokens: max_output_tokens must be positive.\n",
        ));
    }
    let (thinking, include_thoughts) = match get(&config, "thinkingConfig") {
        None => (false, false),
        Some(v) => {
            let tc = object(v, "generation_config.thinking_config")?;
            check_known(
                tc,
                fields::THINKING_CONFIG,
                "generation_config.thinking_config",
            )?;
            let include = get(tc, "includeThoughts").and_then(Value::as_bool) == Some(true);
            let budget = get(tc, "thinkingBudget").and_then(Value::as_i64);
            let level = get(tc, "thinkingLevel").is_some();
            (include || level || budget.is_some_and(|b| b != 0), include)
        }
    };
    Ok(GenerateRequest {
        prompt,
        functions,
        mode,
        allowed,
        thinking,
        include_thoughts,
        stop_sequences,
        max_output_tokens: max_output_tokens.and_then(|m| u64::try_from(m).ok()),
        prompt_tokens: tokens(chars, contents.len()),
        cached: get(body, "cachedContent").is_some(),
    })
}

/// Prompt tokens of the fake: all text characters / 4, plus one per content.
fn tokens(chars: usize, contents: usize) -> u64 {
    u64::try_from(chars / 4 + contents).unwrap_or(u64::MAX)
}

/// `countTokens` takes `contents` or a whole `generateContentRequest`.
pub(crate) fn count_request(body: &Map<String, Value>) -> Result<u64, GoogleError> {
    check_known(body, &["contents", "generateContentRequest"], "")?;
    if let Some(inner) = get(body, "generateContentRequest") {
        let inner = object(inner, "generate_content_request")?;
        return Ok(generate_request(inner)?.prompt_tokens);
    }
    let contents = match get(body, "contents") {
        None => Vec::new(),
        Some(v) => array(v, "contents")?.clone(),
    };
    let (_, chars) = check_contents(&contents)?;
    Ok(tokens(chars, contents.len()))
}

fn bad_value(camel_name: &str, kind: &str, got: &Value) -> GoogleError {
    invalid(format!(
        "Invalid value at 'generation_config.{}' ({kind}), {got}",
        fields::snake(camel_name)
    ))
}

fn role_of(content: &Value) -> &str {
    content
        .get("role")
        .and_then(Value::as_str)
        .unwrap_or("user")
}

fn parts_of(content: &Value) -> &[Value] {
    content
        .get("parts")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn names_in<'a>(content: &'a Value, kind: &str) -> Vec<&'a str> {
    parts_of(content)
        .iter()
        .filter_map(|p| p.get(kind).or_else(|| p.get(fields::snake(kind))))
        .filter_map(|c| c.get("name").and_then(Value::as_str))
        .collect()
}

/// Checks every content and the function turns; returns the last user text and the number of
/// text characters.
fn check_contents(contents: &[Value]) -> Result<(String, usize), GoogleError> {
    if contents.is_empty() {
        return Err(invalid(
            "* GenerateContentRequest.contents: contents is not specified\n",
        ));
    }
    let mut chars = 0;
    for (i, content) in contents.iter().enumerate() {
        chars += check_content(content, &format!("contents[{i}]"), false)?;
    }
    for (i, content) in contents.iter().enumerate() {
        let prev = i.checked_sub(1).map(|p| &contents[p]);
        let calls = names_in(content, "functionCall");
        if !calls.is_empty() && prev.is_none_or(|p| role_of(p) != "user") {
            return Err(invalid(
                "Please ensure that function call turn comes immediately after a user turn or after a function response turn.",
            ));
        }
        let responses = names_in(content, "functionResponse");
        if responses.is_empty() {
            continue;
        }
        let asked = match prev {
            Some(p) if role_of(p) == "model" => names_in(p, "functionCall"),
            _ => Vec::new(),
        };
        if asked.is_empty() {
            return Err(invalid(
                "Please ensure that function response turn comes immediately after a function call turn.",
            ));
        }
        if asked.len() != responses.len() {
            return Err(invalid(
                "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.",
            ));
        }
        if let Some(name) = responses.iter().find(|n| !asked.contains(n)) {
            return Err(invalid(format!(
                "* GenerateContentRequest.contents[{i}]: function response name \"{name}\" does not match any function call of the previous turn.\n"
            )));
        }
    }
    let prompt = contents
        .iter()
        .rev()
        .find(|c| role_of(c) == "user")
        .map(|c| {
            parts_of(c)
                .iter()
                .filter(|p| p.get("thought").and_then(Value::as_bool) != Some(true))
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    Ok((prompt, chars))
}

/// One `Content`; returns its text characters. The system instruction's role is free.
fn check_content(content: &Value, at: &str, system: bool) -> Result<usize, GoogleError> {
    let obj = object(content, at)?;
    check_known(obj, fields::CONTENT, at)?;
    match obj.get("role") {
        None => {}
        Some(Value::String(r)) if system || r == "user" || r == "model" => {}
        Some(_) => return Err(invalid("Please use a valid role: user, model.")),
    }
    let parts = match obj.get("parts") {
        Some(Value::Array(parts)) if !parts.is_empty() => parts,
        _ => {
            return Err(invalid(format!(
                "* GenerateContentRequest.{at}.parts: contents.parts must not be empty.\n"
            )));
        }
    };
    let mut chars = 0;
    for (j, part) in parts.iter().enumerate() {
        let part_at = format!("{at}.parts[{j}]");
        let part = object(part, &part_at)?;
        check_known(part, fields::PART, &part_at)?;
        let data: Vec<&str> = fields::PART_DATA
            .iter()
            .copied()
            .filter(|f| get(part, f).is_some())
            .collect();
        if data.len() != 1 {
            return Err(invalid(format!(
                "* GenerateContentRequest.{part_at}.data: required oneof field 'data' must have one initialized field\n"
            )));
        }
        match data[0] {
            "text" => match part.get("text") {
                Some(Value::String(t)) => chars += t.chars().count(),
                Some(other) => {
                    return Err(invalid(format!(
                        "Invalid value at '{part_at}.text' (TYPE_STRING), {other}"
                    )));
                }
                None => {}
            },
            "functionCall" => {
                let call_at = join(&part_at, "function_call");
                let call = object(get(part, "functionCall").unwrap_or(&Value::Null), &call_at)?;
                check_known(call, fields::FUNCTION_CALL, &call_at)?;
                name_required(call, &call_at)?;
                if let Some(args) = call.get("args") {
                    object(args, &join(&call_at, "args"))?;
                }
            }
            "functionResponse" => {
                let resp_at = join(&part_at, "function_response");
                let resp = object(
                    get(part, "functionResponse").unwrap_or(&Value::Null),
                    &resp_at,
                )?;
                check_known(resp, fields::FUNCTION_RESPONSE, &resp_at)?;
                name_required(resp, &resp_at)?;
                if let Some(r) = resp.get("response") {
                    object(r, &join(&resp_at, "response"))?;
                }
            }
            _ => {}
        }
    }
    Ok(chars)
}

fn name_required(obj: &Map<String, Value>, at: &str) -> Result<(), GoogleError> {
    match obj.get("name") {
        Some(Value::String(n)) if !n.is_empty() => Ok(()),
        _ => Err(invalid(format!(
            "* GenerateContentRequest.{at}.name: Name cannot be empty.\n"
        ))),
    }
}

fn tools(value: Option<&Value>) -> Result<Vec<(String, Value)>, GoogleError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let mut functions = Vec::new();
    for (i, tool) in array(value, "tools")?.iter().enumerate() {
        let at = format!("tools[{i}]");
        let tool = object(tool, &at)?;
        check_known(tool, fields::TOOL, &at)?;
        let Some(decls) = get(tool, "functionDeclarations") else {
            continue;
        };
        for (j, decl) in array(decls, &join(&at, "function_declarations"))?
            .iter()
            .enumerate()
        {
            let decl_at = format!("{at}.function_declarations[{j}]");
            let decl = object(decl, &decl_at)?;
            check_known(decl, fields::FUNCTION_DECLARATION, &decl_at)?;
            name_required(decl, &decl_at)?;
            let name = decl
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let schema = match get(decl, "parameters") {
                Some(schema) => {
                    check_schema(schema, &join(&decl_at, "parameters"))?;
                    schema.clone()
                }
                None => get(decl, "parametersJsonSchema")
                    .cloned()
                    .unwrap_or(Value::Null),
            };
            functions.push((name, schema));
        }
    }
    Ok(functions)
}

/// Gemini's `Schema` subset, recursively (`properties` values are paths like Google's
/// `properties[0].value`).
fn check_schema(schema: &Value, at: &str) -> Result<(), GoogleError> {
    let obj = object(schema, at)?;
    check_known(obj, fields::SCHEMA, at)?;
    if let Some(Value::Object(props)) = obj.get("properties") {
        for (k, prop) in props.values().enumerate() {
            check_schema(prop, &format!("{at}.properties[{k}].value"))?;
        }
    }
    if let Some(items) = obj.get("items") {
        check_schema(items, &join(at, "items"))?;
    }
    if let Some(Value::Array(any)) = get(obj, "anyOf") {
        for (k, s) in any.iter().enumerate() {
            check_schema(s, &format!("{at}.any_of[{k}]"))?;
        }
    }
    Ok(())
}

type ToolConfig = (CallingMode, Option<Vec<String>>);

fn tool_config(value: Option<&Value>) -> Result<ToolConfig, GoogleError> {
    let Some(value) = value else {
        return Ok((CallingMode::Auto, None));
    };
    let tc = object(value, "tool_config")?;
    check_known(tc, fields::TOOL_CONFIG, "tool_config")?;
    let Some(fcc) = get(tc, "functionCallingConfig") else {
        return Ok((CallingMode::Auto, None));
    };
    let at = "tool_config.function_calling_config";
    let fcc = object(fcc, at)?;
    check_known(fcc, fields::FUNCTION_CALLING_CONFIG, at)?;
    let mode = match fcc.get("mode").and_then(Value::as_str) {
        None | Some("AUTO" | "MODE_UNSPECIFIED" | "VALIDATED") => CallingMode::Auto,
        Some("ANY") => CallingMode::Any,
        Some("NONE") => CallingMode::None,
        Some(other) => {
            return Err(invalid(format!(
                "Invalid value at '{at}.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), \"{other}\""
            )));
        }
    };
    let allowed = get(fcc, "allowedFunctionNames")
        .and_then(Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        });
    Ok((mode, allowed))
}
