//! Which scopes a call needs: the layer's own, plus those of its service and its method.

use std::collections::HashMap;

/// Scopes by gRPC path. Every rule that matches a call adds its scopes: a method's rule can
/// only ask for more than its service's, never less.
#[derive(Clone, Debug, Default)]
pub(crate) struct ScopeRules {
    every_call: Vec<String>,
    /// Keyed by service name, `package.Service`.
    services: HashMap<String, Vec<String>>,
    /// Keyed by `package.Service/Method`.
    methods: HashMap<String, Vec<String>>,
}

impl ScopeRules {
    pub(crate) fn add_every_call(&mut self, scopes: impl IntoIterator<Item = String>) {
        self.every_call.extend(scopes);
    }

    pub(crate) fn add_service(&mut self, service: &str, scopes: impl IntoIterator<Item = String>) {
        self.services
            .entry(trim(service).to_owned())
            .or_default()
            .extend(scopes);
    }

    pub(crate) fn add_method(&mut self, method: &str, scopes: impl IntoIterator<Item = String>) {
        self.methods
            .entry(trim(method).to_owned())
            .or_default()
            .extend(scopes);
    }

    /// The scopes a call to `path` (`/package.Service/Method`) needs.
    pub(crate) fn for_path(&self, path: &str) -> Vec<&str> {
        let method = trim(path);
        let service = method
            .split_once('/')
            .map_or(method, |(service, _)| service);
        let mut scopes: Vec<&str> = self.every_call.iter().map(String::as_str).collect();
        for rule in [self.services.get(service), self.methods.get(method)]
            .into_iter()
            .flatten()
        {
            scopes.extend(rule.iter().map(String::as_str));
        }
        scopes
    }
}

/// Paths and names are kept without the leading `/` that a gRPC path has, so that
/// `/pkg.Svc/M` and `pkg.Svc/M` name the same method.
fn trim(path: &str) -> &str {
    path.strip_prefix('/').unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::ScopeRules;

    fn owned(scopes: &[&str]) -> Vec<String> {
        scopes.iter().map(|&s| s.to_owned()).collect()
    }

    #[test]
    fn rules_add_up_by_service_and_method() {
        let mut rules = ScopeRules::default();
        rules.add_every_call(owned(&["grpc"]));
        rules.add_service("pkg.Heroes", owned(&["heroes:read"]));
        rules.add_method("/pkg.Heroes/Delete", owned(&["heroes:write"]));
        rules.add_method("pkg.Heroes/Delete", owned(&["audit"]));

        assert_eq!(rules.for_path("/pkg.Villains/List"), ["grpc"]);
        assert_eq!(rules.for_path("/pkg.Heroes/List"), ["grpc", "heroes:read"]);
        assert_eq!(
            rules.for_path("/pkg.Heroes/Delete"),
            ["grpc", "heroes:read", "heroes:write", "audit"]
        );
        // A service name is not a method of another service with a longer name.
        assert_eq!(rules.for_path("/pkg.HeroesAdmin/List"), ["grpc"]);
        // Not a gRPC path at all: only the rules for every call.
        assert_eq!(rules.for_path("/"), ["grpc"]);
    }
}
