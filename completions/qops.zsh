#compdef qops

_qops_completion() {
  eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" _QOPS_COMPLETE=complete_zsh qops)
}

compdef _qops_completion qops

