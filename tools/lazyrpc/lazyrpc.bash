# bash completion for lazyrpc(1)
_lazyrpc() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local cmds="help list stats up"

	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "$cmds" -- "$cur"))
		return
	fi
	case $prev in
	--dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	--handoff) COMPREPLY=($(compgen -W "futex rpal-kernel" -- "$cur")); return ;;
	--deadline|--prefix) return ;;
	esac
	case ${COMP_WORDS[1]} in
	up) COMPREPLY=($(compgen -f -- "$cur")) ;;
	list) COMPREPLY=($(compgen -W "--json --dir --deadline" -- "$cur")) ;;
	stats)
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--json --prefix --deadline --handoff" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "lrpc:// unix:// tcp:// grpc:// grpcs://" -- "$cur"))
			compopt -o nospace 2>/dev/null
		fi ;;
	esac
}
complete -F _lazyrpc lazyrpc
