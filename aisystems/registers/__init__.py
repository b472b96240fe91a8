"""The registers an AI system's provider (or deployer) keeps under the EU AI Act: risks
(Art. 9), serious incidents (Art. 73), post-market monitoring (Art. 72), datasets
(Art. 10), the fundamental-rights impact assessment (Art. 27) and conformity (Art. 43,
47, 48, 49). Each entry belongs to one system and is seen and changed through the
system's `restrict()`."""
